//go:build linux

package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A plan is the commands that take a node from one dumped state to
// another, in one of two styles:
//
//   - perOp, baseline A ("the Neutron way"): one process per operation —
//     an `ip` per device attribute, address or route, a `sysctl` per key, an
//     `nft` per table, chain, set, rule and element;
//   - batched, baseline B ("the kernel's limit"): one `ip -batch` per
//     namespace, one `sysctl` per namespace, one `nft -f` per table.
//
// Namespaces in the commands are relative to the node's prefix: a word
// "@name" becomes the full name when the plan runs.

type style int

const (
	perOp style = iota
	batched
)

// Phases order a plan: namespaces, their sysctls (before devices, which
// inherit the namespace defaults), deletions, devices, their settings,
// addresses, routes, neighbours, then nftables.
const (
	phNetnsAdd = iota
	phSysctl
	phNftDel
	phRouteDel
	phAddrDel
	phNeighDel
	phLinkDel
	phNetnsDel
	phLinkAdd
	phLinkSet
	phLinkAddrGen
	phLinkUp
	phAddrAdd
	phRouteAdd
	phNeighAdd
	phNft
)

type op struct {
	Phase int
	NS    string // where it runs; for netns-add/del the namespace it names
	Tool  string // netns-add, netns-del, sysctl, ip, bridge, nft
	Args  string // command words (ip, bridge), "key=value" (sysctl), one nft command
	Table string // nft: "family name"
	// Whole is a new table's listing: the batched style loads it with one
	// nft -f instead of the table's per-object commands.
	Whole string
}

type plan []op

// diffStates plans the commands from before to after. defaults are the
// sysctls of a new namespace.
func diffStates(before, after *state, defaults map[string]string, sty style) plan {
	var p plan
	add := func(o op) { p = append(p, o) }
	names := slices.Sorted(maps.Keys(after.NS))
	// The node first: its devices include the host ends of the veths
	// that reach into the other namespaces.
	slices.SortStableFunc(names, func(a, b string) int { return boolCmp(b == "node", a == "node") })
	for _, name := range names {
		a := after.NS[name]
		b := before.NS[name]
		if b == nil {
			add(op{Phase: phNetnsAdd, NS: name, Tool: "netns-add"})
			b = &nsState{Links: map[string]*linkState{}, Sysctls: defaults}
			if lo := a.Links["lo"]; lo != nil { // a new namespace's loopback is down
				down := *lo
				down.Up = false
				b.Links["lo"] = &down
			}
		}
		diffNS(add, name, b, a, before, after, sty)
	}
	for _, name := range slices.Sorted(maps.Keys(before.NS)) {
		if after.NS[name] == nil {
			add(op{Phase: phNetnsDel, NS: name, Tool: "netns-del"})
		}
	}
	slices.SortStableFunc(p, func(x, y op) int { return x.Phase - y.Phase })
	return p
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func diffNS(add func(op), name string, b, a *nsState, before, after *state, sty style) {
	ip := func(phase int, format string, args ...any) {
		add(op{Phase: phase, NS: name, Tool: "ip", Args: fmt.Sprintf(format, args...)})
	}
	for _, k := range slices.Sorted(maps.Keys(a.Sysctls)) {
		if v, ok := b.Sysctls[k]; !ok || v != a.Sysctls[k] {
			add(op{Phase: phSysctl, NS: name, Tool: "sysctl", Args: k + "=" + a.Sysctls[k]})
		}
	}
	// Devices.
	for _, ln := range slices.Sorted(maps.Keys(a.Links)) {
		l := a.Links[ln]
		if old := b.Links[ln]; old != nil {
			linkSet(ip, old, l, sty)
			continue
		}
		if l.Kind == "veth" && strings.HasPrefix(l.Peer, "node/") && name != "node" {
			// Created with its peer from the node (batched: with its MTU
			// and address); set up here.
			fresh := &linkState{Name: l.Name, MTU: -1, AddrGen: "0"}
			if sty == batched {
				fresh.MTU, fresh.MAC = l.MTU, l.MAC
			}
			linkSet(ip, fresh, l, sty)
			continue
		}
		linkCreate(ip, l, after, sty)
	}
	removedPeer := func(l *linkState) bool {
		ns, peer, ok := strings.Cut(l.Peer, "/")
		return ok && ns != name && (after.NS[ns] == nil || after.NS[ns].Links[peer] == nil)
	}
	for _, ln := range slices.Sorted(maps.Keys(b.Links)) {
		if l := b.Links[ln]; a.Links[ln] == nil && !(l.Kind == "veth" && name != "node" && removedPeer(l)) {
			ip(phLinkDel, "link del %s", ln)
		}
	}
	gone := func(dev string) bool { return dev != "" && a.Links[dev] == nil }
	// Addresses, routes, neighbours.
	oldAddrs, newAddrs := index(b.Addrs), index(a.Addrs)
	for _, k := range slices.Sorted(maps.Keys(newAddrs)) {
		x := newAddrs[k]
		if _, ok := oldAddrs[k]; !ok && !x.kernelMade() {
			ip(phAddrAdd, "addr add %s%s scope %d dev %s", x.Prefix, brd(x.Brd), x.Scope, x.Dev)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(oldAddrs)) {
		x := oldAddrs[k]
		if _, ok := newAddrs[k]; !ok && !x.kernelMade() && !gone(x.Dev) {
			ip(phAddrDel, "addr del %s dev %s", x.Prefix, x.Dev)
		}
	}
	oldRoutes, newRoutes := index(b.Routes), index(a.Routes)
	for _, k := range slices.Sorted(maps.Keys(newRoutes)) {
		r := newRoutes[k]
		if _, ok := oldRoutes[k]; !ok && !r.kernelMade() {
			ip(phRouteAdd, "route add %s", routeArgs(r))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(oldRoutes)) {
		r := oldRoutes[k]
		if _, ok := newRoutes[k]; !ok && !r.kernelMade() && !gone(r.Dev) {
			ip(phRouteDel, "route del %s", routeArgs(r))
		}
	}
	oldNeigh, newNeigh := index(b.Neigh), index(a.Neigh)
	for _, k := range slices.Sorted(maps.Keys(newNeigh)) {
		n := newNeigh[k]
		if _, ok := oldNeigh[k]; !ok {
			ip(phNeighAdd, "neigh replace %s lladdr %s dev %s nud permanent", n.IP, n.MAC, n.Dev)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(oldNeigh)) {
		n := oldNeigh[k]
		if _, ok := newNeigh[k]; !ok && !gone(n.Dev) {
			ip(phNeighDel, "neigh del %s dev %s", n.IP, n.Dev)
		}
	}
	oldFDB, newFDB := index(b.FDB), index(a.FDB)
	for _, k := range slices.Sorted(maps.Keys(newFDB)) {
		f := newFDB[k]
		if _, ok := oldFDB[k]; !ok {
			add(op{Phase: phNeighAdd, NS: name, Tool: "bridge", Args: fmt.Sprintf("fdb append %s dev %s dst %s self permanent", f.MAC, f.Dev, f.Dst)})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(oldFDB)) {
		f := oldFDB[k]
		if _, ok := newFDB[k]; !ok && !gone(f.Dev) {
			add(op{Phase: phNeighDel, NS: name, Tool: "bridge", Args: fmt.Sprintf("fdb del %s dev %s dst %s self", f.MAC, f.Dev, f.Dst)})
		}
	}
	// nftables.
	for _, t := range a.Tables {
		nftDiff(add, name, b.table(t.Family, t.Name), t)
	}
	for _, t := range b.Tables {
		if a.table(t.Family, t.Name) == nil {
			add(op{Phase: phNftDel, NS: name, Tool: "nft", Table: t.Family + " " + t.Name, Args: "delete table " + t.Family + " " + t.Name})
		}
	}
}

// index keys states by their string, in a deterministic order of keys
// when ranged over through sortedKeys.
func index[T fmt.Stringer](xs []T) map[string]T {
	m := make(map[string]T, len(xs))
	for _, x := range xs {
		m[x.String()] = x
	}
	return m
}

func brd(b string) string {
	if b == "" {
		return ""
	}
	return " brd " + b
}

var routeTypes = map[int]string{1: "unicast", 2: "local", 3: "broadcast", 4: "anycast", 5: "multicast",
	6: "blackhole", 7: "unreachable", 8: "prohibit", 9: "throw"}

func routeArgs(r routeState) string {
	s := routeTypes[r.Type] + " " + r.Dst
	if r.Gw != "" {
		s += " via " + r.Gw
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	s += fmt.Sprintf(" proto %d scope %d table %d", r.Proto, r.Scope, r.Table)
	if r.Src != "" {
		s += " src " + r.Src
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	return s
}

// linkCreate makes a device and sets it up as l describes. A veth is made
// from its node end, with the peer already in its namespace.
func linkCreate(ip func(int, string, ...any), l *linkState, after *state, sty style) {
	var create string
	switch l.Kind {
	case "bridge":
		create = "link add %s type bridge"
	case "vxlan":
		create = fmt.Sprintf("link add %%s type vxlan id %d local %s dstport %d", l.VNI, l.Local, l.Port)
		if !l.Learning {
			create += " nolearning"
		}
		if l.Proxy {
			create += " proxy"
		}
	case "tuntap":
		create = "tuntap add dev %s mode tap"
	case "veth":
		ns, peer, _ := strings.Cut(l.Peer, "/")
		pl := after.NS[ns].Links[peer]
		create = "link add %s type veth peer name " + peer
		if ns != "node" {
			create += " netns @" + ns
		}
		if sty == batched {
			create += fmt.Sprintf(" mtu %d", pl.MTU)
			if pl.portMAC() {
				create += " address " + pl.MAC
			}
		}
	default:
		panic(fmt.Sprintf("bench: cannot create a %s device (%s)", l.Kind, l.Name))
	}
	fresh := &linkState{Name: l.Name, AddrGen: "0", MTU: -1}
	if sty == batched && l.Kind != "tuntap" {
		// ip link add takes the MTU and address with the device.
		create = strings.Replace(create, "%s", "%s"+attrs(l, "mtu", "address"), 1)
		fresh.MTU, fresh.MAC = l.MTU, l.MAC
	}
	ip(phLinkAdd, create, l.Name)
	linkSet(ip, fresh, l, sty)
}

// attrs renders the named settings of l as ip link words.
func attrs(l *linkState, names ...string) string {
	var b strings.Builder
	for _, n := range names {
		switch n {
		case "mtu":
			fmt.Fprintf(&b, " mtu %d", l.MTU)
		case "address":
			if l.portMAC() {
				b.WriteString(" address " + l.MAC)
			}
		}
	}
	return b.String()
}

// linkSet changes old's settings into l's: one `ip link set` per setting
// per operation, or one line (IPv6 address generation and the up flag on
// lines of their own, in that order: a device that comes up before its
// addr_gen_mode is set gets a link-local address).
func linkSet(ip func(int, string, ...any), old, l *linkState, sty style) {
	var sets []string
	if old.MTU != l.MTU {
		sets = append(sets, fmt.Sprintf("mtu %d", l.MTU))
	}
	if l.portMAC() && old.MAC != l.MAC {
		sets = append(sets, "address "+l.MAC)
	}
	if old.Alias != l.Alias && l.Alias != "" {
		sets = append(sets, "alias "+l.Alias)
	}
	if old.Master != l.Master {
		if l.Master == "" {
			sets = append(sets, "nomaster")
		} else {
			sets = append(sets, "master "+l.Master)
		}
	}
	if len(sets) > 0 {
		if sty == batched {
			ip(phLinkSet, "link set %s %s", l.Name, strings.Join(sets, " "))
		} else {
			for _, s := range sets {
				ip(phLinkSet, "link set %s %s", l.Name, s)
			}
		}
	}
	if old.AddrGen != l.AddrGen && l.AddrGen == "1" {
		ip(phLinkAddrGen, "link set %s addrgenmode none", l.Name)
	}
	if old.Up != l.Up {
		ip(phLinkUp, "link set %s %s", l.Name, map[bool]string{true: "up", false: "down"}[l.Up])
	}
}

// nftDiff plans one table from old (nil: absent) to t. A new table is
// created object by object (its listing is kept for the batched style);
// an existing one is edited: new chains and sets, removed then added
// elements, appended rules (a chain whose rules changed otherwise is
// flushed and refilled), removed chains and sets.
func nftDiff(add func(op), ns string, old, t *nftTable) {
	tname := t.Family + " " + t.Name
	var whole string
	if old == nil {
		whole = t.Text
		old = &nftTable{Family: t.Family, Name: t.Name}
		cmd := "add table " + tname
		if len(t.Props) > 0 {
			cmd += " { " + statements(t.Props) + " }"
		}
		add(op{Phase: phNft, NS: ns, Tool: "nft", Table: tname, Args: cmd, Whole: whole})
	}
	nft := func(format string, args ...any) {
		add(op{Phase: phNft, NS: ns, Tool: "nft", Table: tname, Args: fmt.Sprintf(format, args...), Whole: whole})
	}
	oldChains := map[string]*nftChain{}
	for _, c := range old.Chains {
		oldChains[c.Name] = c
	}
	oldSets := map[string]*nftSet{}
	for _, s := range old.Sets {
		oldSets[s.Name] = s
	}
	for _, c := range t.Chains {
		if oldChains[c.Name] == nil {
			if len(c.Props) > 0 {
				nft("add chain %s %s { %s }", tname, c.Name, statements(c.Props))
			} else {
				nft("add chain %s %s", tname, c.Name)
			}
		}
	}
	for _, s := range t.Sets {
		if oldSets[s.Name] == nil {
			nft("add %s %s %s { %s }", s.Kind, tname, s.Name, statements(s.Props))
		}
	}
	for _, s := range t.Sets {
		var have []string
		if o := oldSets[s.Name]; o != nil {
			have = o.Elements
		}
		del, ins := setDiff(have, s.Elements)
		for _, e := range del {
			nft("delete element %s %s { %s }", tname, s.Name, elementKey(e))
		}
		for _, e := range ins {
			nft("add element %s %s { %s }", tname, s.Name, e)
		}
	}
	for _, c := range t.Chains {
		var have []string
		if o := oldChains[c.Name]; o != nil {
			have = o.Rules
		}
		if len(have) <= len(c.Rules) && slices.Equal(have, c.Rules[:len(have)]) {
			for _, r := range c.Rules[len(have):] {
				nft("add rule %s %s %s", tname, c.Name, r)
			}
			continue
		}
		nft("flush chain %s %s", tname, c.Name)
		for _, r := range c.Rules {
			nft("add rule %s %s %s", tname, c.Name, r)
		}
	}
	newChains := map[string]bool{}
	for _, c := range t.Chains {
		newChains[c.Name] = true
	}
	for _, c := range old.Chains {
		if !newChains[c.Name] {
			nft("flush chain %s %s", tname, c.Name)
			nft("delete chain %s %s", tname, c.Name)
		}
	}
	for _, s := range old.Sets {
		if !slices.ContainsFunc(t.Sets, func(x *nftSet) bool { return x.Name == s.Name }) {
			nft("delete %s %s %s", s.Kind, tname, s.Name)
		}
	}
}

// setDiff returns the elements of have missing from want, and those of
// want missing from have, each in its list's order.
func setDiff(have, want []string) (del, ins []string) {
	h, w := map[string]bool{}, map[string]bool{}
	for _, e := range have {
		h[e] = true
	}
	for _, e := range want {
		w[e] = true
		if !h[e] {
			ins = append(ins, e)
		}
	}
	for _, e := range have {
		if !w[e] {
			del = append(del, e)
		}
	}
	return del, ins
}

// elementKey is what `nft delete element` takes: the key without its
// comment and mapped value.
func elementKey(e string) string {
	if i := strings.Index(e, " comment "); i >= 0 {
		return e[:i]
	}
	if i := strings.Index(e, " : "); i >= 0 {
		return e[:i]
	}
	return e
}

// statements joins listed lines into one line of nft statements.
func statements(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(l)
		if !strings.HasSuffix(l, ";") {
			b.WriteByte(';')
		}
	}
	return b.String()
}
