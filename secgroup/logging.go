package secgroup

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/port"
)

// Log is a Neutron network log; the realizer realizes those of
// resource_type security_group and passes the others over.
type Log = flowlog.Log

// The resource type of security group logs, and the events, as Neutron
// spells them.
const (
	ResourceSecurityGroup = flowlog.ResourceSecurityGroup
	EventAccept           = flowlog.EventAccept
	EventDrop             = flowlog.EventDrop
	EventAll              = flowlog.EventAll
)

// Names of the logging objects: the marks of the ports whose accepted
// flows a log records, per group, and of the ports whose dropped packets
// a log records.
const setLogDrop = "log-drop"

func logAcceptSet(gid string) string { return "log-accept-" + gid }

// ruleDefault is the rule ID of records of packets no rule allowed.
const ruleDefault = "default"

// logSource is what an NFLOG prefix of the inet table stands for; the port
// comes from the packet mark.
type logSource struct {
	group, rule, dir, verdict string
}

// logKey names who asked for a record: the port (by number), the group
// (empty for drops) and the verdict.
type logKey struct {
	port           uint32
	group, verdict string
}

// logPlan is the compiled logging of a node: which port numbers log what,
// and what each prefix of the log rules means. It is nil when no log
// covers a filtered port, and then no logging object exists.
type logPlan struct {
	accept  map[string][]uint32 // group -> logged port numbers
	drop    []uint32
	ids     map[logKey][]string
	sources map[string]logSource
}

// planLogs works out which of the filtered ports' (port, group, event)
// triples the enabled security group logs cover, as Neutron's logging
// API scopes them: resource_id a group, target_id a port, both, or
// neither (every port of the log's project).
func (c *compiler) planLogs(local []*port.Port, nums map[string]uint32) {
	var lp logPlan
	add := func(k logKey, id string) {
		if lp.ids == nil {
			lp = logPlan{accept: map[string][]uint32{}, ids: map[logKey][]string{}, sources: map[string]logSource{}}
		}
		if len(lp.ids[k]) == 0 {
			if k.verdict == flowlog.EventAccept {
				lp.accept[k.group] = append(lp.accept[k.group], k.port)
			} else {
				lp.drop = append(lp.drop, k.port)
			}
		}
		if ids := lp.ids[k]; len(ids) == 0 || ids[len(ids)-1] != id {
			lp.ids[k] = append(ids, id)
		}
	}
	for _, p := range local {
		if !filtered(p) {
			continue
		}
		n := nums[naming.Tap(p.ID)]
		gids := sortedUnique(p.SecurityGroups)
		for i := range c.d.Logs {
			l := &c.d.Logs[i]
			if !l.IsEnabled() || l.ResourceType != flowlog.ResourceSecurityGroup || l.TargetID != "" && l.TargetID != p.ID {
				continue
			}
			if l.ResourceID == "" && l.TargetID == "" && l.ProjectID != "" && p.ProjectID != "" && l.ProjectID != p.ProjectID {
				continue
			}
			inGroup := l.ResourceID == ""
			for _, g := range gids {
				if l.ResourceID != "" && l.ResourceID != g {
					continue
				}
				inGroup = true
				if l.Covers(true) {
					add(logKey{port: n, group: g, verdict: flowlog.EventAccept}, l.ID)
				}
			}
			if inGroup && l.Covers(false) {
				add(logKey{port: n, verdict: flowlog.EventDrop}, l.ID)
			}
		}
	}
	if lp.ids != nil {
		c.rs.logs = &lp
	}
}

// logRule returns the rule that records, before a verdict on matches ms,
// the packets of the ports in set: rate limited as Neutron's rate_limit
// and burst_limit, sent to the NFLOG group with a prefix naming the
// group, rule, direction and verdict. The limit is the rule's own: one
// budget per (group rule, direction) shared by the group's logged ports,
// and per direction for drops.
func (c *compiler) logRule(ms []match, set string, src logSource) rule {
	r, px := newLogRule(c.cfg, ms, set, src)
	c.rs.logs.sources[px] = src
	return r
}

func newLogRule(cfg *config, ms []match, set string, src logSource) (rule, string) {
	px := flowlog.Prefix("secgroup", src.group, src.rule, src.dir, src.verdict)
	out := append(append([]match(nil), ms...), markFieldIn(cfg.mask, set, false))
	return rule{matches: out, stmts: []stmt{
		{kind: stmtLimit, rate: cfg.rate, burst: cfg.burst},
		{kind: stmtLog, prefix: px, group: cfg.group},
	}, comment: fmt.Sprintf("log %s %s", src.verdict, src.rule)}, px
}

// logHashes returns a function giving the hashes of the log rules group
// chain ch of g would hold with its accepts logged: rules whose removal
// (logging turned off) ends no flow, so diff clears no conntrack entry
// for them. It is called only when the chain loses rules.
func (c *compiler) logHashes(g *SecurityGroup, ch *chain) func() map[uint64]bool {
	cfg := c.cfg
	return func() map[uint64]bool {
		out := map[uint64]bool{}
		k := 0
		for i := range g.Rules {
			r := &g.Rules[i]
			if r.Direction != ch.dir {
				continue
			}
			// The accept of rule r is the chain's next accept rule.
			for k < len(ch.rules) && ch.rules[k].comment != "sg "+g.ID+" rule "+r.ID {
				k++
			}
			if k == len(ch.rules) {
				break
			}
			lr, _ := newLogRule(cfg, ch.rules[k].matches, logAcceptSet(g.ID), logSource{group: g.ID, rule: r.ID, dir: r.Direction, verdict: flowlog.EventAccept})
			out[lr.hash()] = true
		}
		return out
	}
}

// logSets adds the sets of logged port marks.
func (c *compiler) logSets() {
	lp := c.rs.logs
	if lp == nil {
		return
	}
	marks := func(ns []uint32) []elem {
		out := make([]elem, 0, len(ns))
		for _, n := range ns {
			out = append(out, elem{key: markBytes(c.cfg.markOf(n))})
		}
		return out
	}
	if len(lp.drop) > 0 {
		c.rs.inet.addSet(&set{name: setLogDrop, key: typeMark, comment: "ports whose dropped packets are logged", elems: marks(lp.drop)})
	}
	for _, g := range sortedKeys(lp.accept) {
		c.rs.inet.addSet(&set{name: logAcceptSet(g), key: typeMark, comment: "ports whose flows security group " + g + " accepts are logged",
			elems: marks(lp.accept[g])})
	}
}

// dropLog returns the rule logging the default drop of direction dir, or
// none when no port's drops are logged.
func (c *compiler) dropLog(dir string) []rule {
	if c.rs.logs == nil || len(c.rs.logs.drop) == 0 {
		return nil
	}
	return []rule{c.logRule(nil, setLogDrop, logSource{rule: ruleDefault, dir: dir, verdict: flowlog.EventDrop})}
}

// acceptLog returns the rule logging what rule r of group g accepts, or
// none when no port of g logs accepted flows.
func (c *compiler) acceptLog(g *SecurityGroup, r *Rule, ms []match) []rule {
	if c.rs.logs == nil || len(c.rs.logs.accept[g.ID]) == 0 {
		return nil
	}
	return []rule{c.logRule(ms, logAcceptSet(g.ID), logSource{group: g.ID, rule: r.ID, dir: r.Direction, verdict: flowlog.EventAccept})}
}
