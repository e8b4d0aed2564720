package main

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

// device is a link as the kernel reports it.
type device struct {
	name, kind, alias, master string
	up                        bool
	mtu                       int
}

// devices lists h's links by name.
func devices(h *namespace.Handle) (map[string]device, error) {
	ls, err := nl.Dump(func() ([]netlink.Link, error) { return h.Netlink().LinkList() })
	if err != nil {
		return nil, err
	}
	byIndex := map[int]string{}
	for _, l := range ls {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	out := map[string]device{}
	for _, l := range ls {
		a := l.Attrs()
		out[a.Name] = device{name: a.Name, kind: l.Type(), alias: a.Alias, master: byIndex[a.MasterIndex],
			up: a.Flags&1 != 0, mtu: a.MTU}
	}
	return out, nil
}

// owned keeps the devices that carry a Neutrino ownership alias.
func owned(devs map[string]device) map[string]string {
	out := map[string]string{}
	for n, d := range devs {
		if _, _, ok := naming.ParseOwner(d.alias); ok {
			out[n] = d.alias
		}
	}
	return out
}

// tables lists h's nftables tables as "family name".
func tables(h *namespace.Handle) ([]string, error) {
	c, err := nftables.New(nftables.WithNetNSFd(h.Fd()))
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	ts, err := c.ListTables()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range ts {
		out = append(out, fmt.Sprintf("%s %s", family(t.Family), t.Name))
	}
	sort.Strings(out)
	return out, nil
}

func family(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyBridge:
		return "bridge"
	case nftables.TableFamilyARP:
		return "arp"
	case nftables.TableFamilyNetdev:
		return "netdev"
	}
	return fmt.Sprint(int(f))
}

// ourTables keeps the tables Neutrino names.
func ourTables(ts []string) []string {
	var out []string
	for _, t := range ts {
		if _, name, _ := strings.Cut(t, " "); strings.HasPrefix(name, "neutrino") {
			out = append(out, t)
		}
	}
	return out
}

// diffState compares the node's kernel state with what topo asks of it,
// by naming rules alone, and lists every difference: a desired object
// missing or wrong, or an owned one not desired. Empty means converged.
func diffState(n *node, topo *neutrino.Topology) []string {
	w := expect(topo, n.host)
	var diffs []string
	devs, err := devices(n.h)
	if err != nil {
		return []string{err.Error()}
	}
	have := owned(devs)
	for name, alias := range w.links {
		switch got, ok := have[name]; {
		case !ok:
			diffs = append(diffs, "missing device "+name)
		case got != alias:
			diffs = append(diffs, fmt.Sprintf("device %s alias %q, want %q", name, got, alias))
		}
	}
	for name := range have {
		if _, ok := w.links[name]; !ok {
			diffs = append(diffs, "undesired device "+name+" ("+have[name]+")")
		}
	}
	diffs = append(diffs, diffMasters(devs, topo, n.host)...)

	ts, err := tables(n.h)
	if err != nil {
		return append(diffs, err.Error())
	}
	wantTables := []string(nil)
	if len(w.links) > 0 {
		wantTables = []string{"bridge " + neutrinoTable, "inet " + neutrinoTable}
	}
	if got := ourTables(ts); !slices.Equal(got, wantTables) {
		diffs = append(diffs, fmt.Sprintf("node tables %v, want %v", got, wantTables))
	}

	names, err := n.mgr().List()
	if err != nil {
		return append(diffs, err.Error())
	}
	for _, ns := range names {
		if _, ok := w.namespaces[ns]; !ok && ownedNamespace(ns) {
			diffs = append(diffs, "undesired namespace "+ns)
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(w.namespaces)) {
		diffs = append(diffs, diffNamespace(n, ns, w.namespaces[ns], w.nsTables[ns])...)
	}
	sort.Strings(diffs)
	return diffs
}

// ownedNamespace reports whether a name under the node prefix is in the
// realizers' scheme: they own those namespaces by name.
func ownedNamespace(name string) bool {
	return strings.HasPrefix(name, naming.NSRouter) || strings.HasPrefix(name, naming.NSDHCP)
}

// neutrinoTable is the name of the security-group tables in the node namespace.
const neutrinoTable = "neutrino"

// diffMasters checks that every port's host device is in its network's
// bridge, and every VXLAN device in its bridge.
func diffMasters(devs map[string]device, topo *neutrino.Topology, host string) []string {
	nets := map[string]network.Network{}
	for _, n := range topo.Networks {
		nets[n.ID] = n
	}
	var diffs []string
	for _, p := range topo.Ports {
		if p.HostID != host {
			continue
		}
		br := naming.Bridge(p.NetworkID)
		if d, ok := devs[naming.Tap(p.ID)]; ok && d.master != br {
			diffs = append(diffs, fmt.Sprintf("device %s in %q, want %s", d.name, d.master, br))
		}
		if n := nets[p.NetworkID]; n.NetworkType == "vxlan" {
			if d, ok := devs[naming.VXLAN(n.SegmentationID)]; ok && d.master != br {
				diffs = append(diffs, fmt.Sprintf("device %s in %q, want %s", d.name, d.master, br))
			}
		}
	}
	return diffs
}

// diffNamespace checks one namespace the node must have: mounted, holding
// exactly the devices listed (and lo), and the tables listed if any.
func diffNamespace(n *node, name string, wantDevs, wantTables []string) []string {
	if !n.mgr().Exists(name) {
		return []string{"missing namespace " + name}
	}
	h, err := n.mgr().Open(name)
	if err != nil {
		return []string{err.Error()}
	}
	defer h.Close()
	devs, err := devices(h)
	if err != nil {
		return []string{name + ": " + err.Error()}
	}
	var got []string
	for d := range devs {
		if d != "lo" {
			got = append(got, d)
		}
	}
	sort.Strings(got)
	want := slices.Sorted(slices.Values(wantDevs))
	var diffs []string
	if !slices.Equal(got, want) {
		diffs = append(diffs, fmt.Sprintf("namespace %s devices %v, want %v", name, got, want))
	}
	if wantTables != nil {
		ts, err := tables(h)
		if err != nil {
			return append(diffs, name+": "+err.Error())
		}
		if got := ourTables(ts); !slices.Equal(got, wantTables) {
			diffs = append(diffs, fmt.Sprintf("namespace %s tables %v, want %v", name, got, wantTables))
		}
	}
	return diffs
}

// requireConverged fails the test with every difference between the node
// and topo.
func requireConverged(t testing.TB, n *node, topo *neutrino.Topology) {
	t.Helper()
	if diffs := diffState(n, topo); len(diffs) > 0 {
		t.Fatalf("node %s differs from its topology in %d ways:\n%s", n.host, len(diffs), strings.Join(diffs, "\n"))
	}
}
