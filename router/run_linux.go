package router

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// routerRun is one router's pass: its spec, what its namespace holds, and
// what the changes learn as they run (indexes of created links).
type routerRun struct {
	r     *Realizer
	spec  *routerSpec
	rns   *routerNS         // nil when planning a namespace that does not exist
	ns    *namespace.Handle // rns.h
	where string            // the namespace's full name, for messages
	host  map[string]netlink.Link
	obs   *observed
	dry   bool // planning: nothing is changed

	idx       map[string]int          // link name in the router namespace -> index
	garp      map[string][]netip.Addr // device -> IPv4 addresses that appear on it
	conntrack []netip.Addr            // addresses whose flows must go
	// conntrackNets are subnets whose flows (from or to them) must go.
	conntrackNets []netip.Prefix
	// conntrackPF are forwarded ports whose flows must go.
	conntrackPF []pfKey
}

// change is one step of a pass. Changes whose do is nil are carried out by
// the next change that has one (the NAT transaction commits many).
type change struct {
	verb verb
	kind string
	n    int
	what string
	do   func() error
}

// diff computes the changes, after the sysctls (diffSysctls), that make the
// namespace match the spec, in the order they must be made: links before the NAT that names them (NAT before
// addresses, as Neutron does, so a floating IP never answers untranslated),
// addresses before the routes through them, stale links after their
// replacements, conntrack cleanup after the NAT no longer leads to the old
// target, and gratuitous ARP last.
func (rr *routerRun) diff() ([]change, error) {
	rr.garp = map[string][]netip.Addr{}
	var cs []change
	lc, fresh, err := rr.diffLinks()
	if err != nil {
		return nil, err
	}
	cs = append(cs, lc...)
	cs = append(cs, rr.diffNAT()...)
	cs = append(cs, rr.diffAddrs(fresh)...)
	cs = append(cs, rr.diffRoutes()...)
	cs = append(cs, rr.diffRA()...)
	cs = append(cs, rr.staleLinks()...)
	cs = append(cs, rr.cleanConntrack()...)
	cs = append(cs, rr.cleanPFConntrack()...)
	cs = append(cs, rr.announce()...)
	return cs, nil
}

// execute makes the changes (or, dry, only reports them), stopping at the
// first failure: later changes build on earlier ones.
func (rr *routerRun) execute(ctx context.Context, cs []change, rep *Report, dry bool) error {
	var pending []change
	for _, c := range cs {
		pending = append(pending, c)
		if c.do == nil {
			continue
		}
		if !dry {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := c.do(); err != nil {
				return fmt.Errorf("%s %s %s: %w", c.verb, c.kind, c.what, err)
			}
		}
		for _, p := range pending {
			report.AddN(rep, p.verb.String(), p.kind, p.n, p.what)
		}
		pending = pending[:0]
	}
	return nil
}

func (rr *routerRun) in(what string) string { return what + " in " + rr.where }

// diffSysctls plans the sysctls that differ.
func (rr *routerRun) diffSysctls() []change {
	var (
		cs    []change
		write []string // key, value pairs
	)
	for _, s := range routerSysctls {
		have, ok := rr.obs.sysctl[s.key]
		switch {
		case rr.obs.sysctl == nil: // planning a namespace that does not exist yet
		case !ok, have == s.value:
			continue
		}
		write = append(write, s.key, s.value)
		cs = append(cs, change{update, "sysctl", 1, rr.in(s.key + "=" + s.value), nil})
	}
	if len(cs) > 0 {
		cs[len(cs)-1].do = func() error {
			for i := 0; i < len(write); i += 2 {
				if err := rr.rns.sysctls.write(write[i], write[i+1]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return cs
}
