//go:build linux

package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// counts are what the bench reports per kind of namespace when it
// compares a baseline's state with Neutrino's.
type counts struct {
	Namespaces, Devices, Addrs, Routes, Neigh, FDB, Sysctls int
	Chains, Rules, Sets, Elements, DHCP                     int
}

func (c *counts) add(s *nsState) {
	c.Namespaces++
	c.Devices += len(s.Links)
	c.Addrs += len(s.Addrs)
	c.Routes += len(s.Routes)
	c.Neigh += len(s.Neigh)
	c.FDB += len(s.FDB)
	c.Sysctls += len(s.Sysctls)
	for _, t := range s.Tables {
		ch, r, se, e := t.counts()
		c.Chains, c.Rules, c.Sets, c.Elements = c.Chains+ch, c.Rules+r, c.Sets+se, c.Elements+e
	}
	if s.DHCP {
		c.DHCP++
	}
}

func (c counts) String() string {
	return fmt.Sprintf("%4d ns %6d dev %6d addr %6d route %5d neigh %5d fdb %4d sysctl %6d chain %6d rule %4d set %7d elem %4d dhcp",
		c.Namespaces, c.Devices, c.Addrs, c.Routes, c.Neigh, c.FDB, c.Sysctls, c.Chains, c.Rules, c.Sets, c.Elements, c.DHCP)
}

// kindOf groups namespaces for the report: node, qrouter, qdhcp.
func kindOf(ns string) string {
	if k, _, ok := strings.Cut(ns, "-"); ok {
		return k
	}
	return ns
}

// summarize counts a state per kind of namespace.
func summarize(st *state) map[string]counts {
	out := map[string]counts{}
	for name, s := range st.NS {
		c := out[kindOf(name)]
		c.add(s)
		out[kindOf(name)] = c
	}
	return out
}

// diffReport compares got with want object by object: devices (kind,
// master, MTU, addresses set from ports, alias, state, IPv6 address
// generation, veth peer, VXLAN settings), addresses, routes of every table,
// permanent neighbours, VXLAN forwarding entries, the sysctls want
// lists, DHCP listeners, and nftables tables (chains with their rules in
// order, sets with their elements). It returns at most max differences.
func diffReport(want, got *state, max int) []string {
	var out []string
	note := func(format string, args ...any) {
		if len(out) < max {
			out = append(out, fmt.Sprintf(format, args...))
		} else if len(out) == max {
			out = append(out, "…")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want.NS)) {
		w, g := want.NS[name], got.NS[name]
		if g == nil {
			note("%s: namespace missing", name)
			continue
		}
		setDiffNote(note, name+": device", linkStrings(w), linkStrings(g))
		setDiffNote(note, name+": address", strs(w.Addrs), strs(g.Addrs))
		setDiffNote(note, name+": route", strs(w.Routes), strs(g.Routes))
		setDiffNote(note, name+": neighbour", strs(w.Neigh), strs(g.Neigh))
		setDiffNote(note, name+": fdb", strs(w.FDB), strs(g.FDB))
		for k, v := range w.Sysctls {
			if g.Sysctls[k] != v {
				note("%s: sysctl %s=%q, want %q", name, k, g.Sysctls[k], v)
			}
		}
		if w.DHCP != g.DHCP {
			note("%s: DHCP listener %v, want %v", name, g.DHCP, w.DHCP)
		}
		for _, wt := range w.Tables {
			gt := g.table(wt.Family, wt.Name)
			if gt == nil {
				note("%s: nft table %s %s missing", name, wt.Family, wt.Name)
				continue
			}
			setDiffNote(note, fmt.Sprintf("%s: nft %s %s", name, wt.Family, wt.Name), tableStrings(wt), tableStrings(gt))
		}
		for _, gt := range g.Tables {
			if w.table(gt.Family, gt.Name) == nil {
				note("%s: unexpected nft table %s %s", name, gt.Family, gt.Name)
			}
		}
	}
	for name := range got.NS {
		if want.NS[name] == nil {
			note("%s: unexpected namespace", name)
		}
	}
	return out
}

func linkStrings(s *nsState) []string {
	out := make([]string, 0, len(s.Links))
	for _, l := range s.Links {
		out = append(out, l.String())
	}
	slices.Sort(out)
	return out
}

// tableStrings renders a table as comparable lines: each chain's
// properties and rules in order, each set's properties and elements in
// any order.
func tableStrings(t *nftTable) []string {
	var out []string
	for _, p := range t.Props {
		out = append(out, "table "+p)
	}
	for _, c := range t.Chains {
		out = append(out, "chain "+c.Name+" "+strings.Join(c.Props, " "))
		for i, r := range c.Rules {
			out = append(out, fmt.Sprintf("chain %s rule %d: %s", c.Name, i, r))
		}
	}
	for _, s := range t.Sets {
		out = append(out, s.Kind+" "+s.Name+" "+strings.Join(s.Props, "; "))
		for _, e := range s.Elements {
			out = append(out, s.Kind+" "+s.Name+" element "+e)
		}
	}
	slices.Sort(out)
	return out
}

// setDiffNote notes the lines of want missing from got, and the lines of
// got that want lacks (both sorted).
func setDiffNote(note func(string, ...any), what string, want, got []string) {
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || i < len(want) && want[i] < got[j]:
			note("%s missing: %s", what, want[i])
			i++
		case i == len(want) || got[j] < want[i]:
			note("%s unexpected: %s", what, got[j])
			j++
		default:
			i++
			j++
		}
	}
}
