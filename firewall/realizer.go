package firewall

import (
	"sync"

	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// Report says what an Apply changed, or what a Plan would change, counted
// per kind: "table", "chain", "rule", "limit" and
// "conntrack" (entries of flows that lost their permission). A second
// Apply of the same desired state reports zero mutations.
type Report = report.Report

// Realizer makes the router namespaces of a node enforce a Desired
// firewall: it owns `table inet neutrino-fw` in each
// <prefix>qrouter-<id> namespace and nothing else there, and reads the
// NFLOG group of the routers that have logs. One Apply or Plan runs at a
// time.
type Realizer struct {
	host *namespace.Handle
	cfg  *config
	mgr  *namespace.Manager

	mu sync.Mutex
	// swept is set once the realizer has looked for its table in every
	// router namespace of the node; after that it visits only the routers
	// it wrote a table for and those the desired state names.
	swept  bool
	tables map[string]bool
	// known maps the hashes of the rules of the last two compilations to
	// the Neutron rules they enforce, to cut the flows of removed rules.
	known     map[uint64]*tuple
	listeners map[string]*listener
	handles   map[string]*namespace.Handle
	// states remembers, per router with a kept handle, the table as of
	// our last read or commit (see current).
	states map[string]*knownState
	counts flowlog.Counters
}

// knownState is a router table's state at ruleset generation gen.
type knownState struct {
	gen uint32
	st  *tableState
}

// FlowStats returns the counts of flow records delivered so far.
func (r *Realizer) FlowStats() FlowStats { return r.counts.Stats() }

// rememberRules records the rules of rs as the known ones, keeping those
// of the previous compilation (whose rules this Apply may remove).
func (r *Realizer) rememberRules(rs *ruleset) knownRules {
	cur := map[uint64]*tuple{}
	for _, t := range rs.tables {
		for _, c := range t.chains {
			for i, h := range c.hashes() {
				cur[h] = c.rules[i].tuple
			}
		}
	}
	k := knownRules{cur: cur, prev: r.known}
	r.known = cur
	return k
}
