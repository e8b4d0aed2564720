package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
)

// drift is a hand edit of the node and how to tell it was undone (on top
// of the whole node matching its topology again).
type drift struct {
	name     string
	ns       string // "" for the node namespace, else one the agent made
	argv     [][]string
	repaired func(w *world) bool
}

// TestDriftIsRepaired edits, with ip, bridge and nft, objects of every
// kind the running agent owns, and requires each to be repaired. It logs
// how long each repair took and what triggered it: a kernel notification
// (the agent watches the node namespace) or the resync interval (5 s).
func TestDriftIsRepaired(t *testing.T) {
	w := newWorld(t)
	n := w.n
	p := n.start(t, "run", w.file, append(worldFlags, "--resync-interval", "5s")...)
	waitApplied(t, n, p, 1)
	requireConverged(t, n, &w.b.Topology)
	if err := w.lease(t); err != nil {
		t.Fatal("vm2 gets no DHCP lease")
	}
	w.requireDataplane(t)

	rtr := naming.RouterNamespace(id(kRouter, routerIdx))
	dhcpNS := naming.DHCPNamespace(id(kNet, 1))
	gw := naming.RouterGateway(id(kPort, 0x8000+routerIdx))
	sgChain := "sg-" + id(kGroup, 1) + "-ingress"
	icmpRule := id(kRule, 8+3)
	cases := []drift{
		{name: "bridge deleted", argv: [][]string{{"ip", "link", "del", naming.Bridge(id(kNet, 2))}}},
		{name: "bridge set down", argv: [][]string{{"ip", "link", "set", naming.Bridge(id(kNet, 1)), "down"}},
			repaired: func(w *world) bool { return w.device(naming.Bridge(id(kNet, 1))).up }},
		{name: "instance veth deleted", argv: [][]string{{"ip", "link", "del", naming.Tap(id(kPort, vm1Port))}},
			repaired: func(w *world) bool { return w.has(w.vms["vm1"], vm1Addr, "ip", "-4", "addr", "show", "eth0") }},
		{name: "tap released from its bridge", argv: [][]string{{"ip", "link", "set", naming.Tap(id(kPort, tapPort)), "nomaster"}}},
		{name: "tap MTU changed", argv: [][]string{{"ip", "link", "set", naming.Tap(id(kPort, tapPort)), "mtu", "1300"}},
			repaired: func(w *world) bool { return w.device(naming.Tap(id(kPort, tapPort))).mtu == 1450 }},
		{name: "VXLAN device deleted", argv: [][]string{{"ip", "link", "del", naming.VXLAN(1001)}},
			repaired: func(w *world) bool { return w.hasFDB() }},
		{name: "FDB entry deleted", argv: [][]string{{"bridge", "fdb", "del", mac(kPort, remotePort).String(), "dev", naming.VXLAN(1001), "dst", "198.18.0.2"}},
			repaired: func(w *world) bool { return w.hasFDB() }},
		{name: "security-group rule deleted", argv: [][]string{{"nft", "delete", "rule", "inet", "neutrino", sgChain, "handle", "HANDLE:" + icmpRule}},
			repaired: func(w *world) bool {
				return w.has(w.n.h, icmpRule, "nft", "list", "chain", "inet", "neutrino", sgChain)
			}},
		{name: "security-group table deleted", argv: [][]string{{"nft", "delete", "table", "inet", "neutrino"}}},
		{name: "router route deleted", ns: rtr, argv: [][]string{{"ip", "route", "del", "198.51.100.0/24"}},
			repaired: func(w *world) bool {
				return w.has(w.ns(t, rtr), "via 100.64.1.200", "ip", "route", "show", "198.51.100.0/24")
			}},
		{name: "router gateway address deleted", ns: rtr, argv: [][]string{{"ip", "addr", "del", gatewayAddr + "/24", "dev", gw}},
			repaired: func(w *world) bool { return w.has(w.ns(t, rtr), gatewayAddr+"/24", "ip", "addr", "show", gw) }},
		{name: "router NAT table deleted", ns: rtr, argv: [][]string{{"nft", "delete", "table", "inet", "neutrino-router"}},
			repaired: func(w *world) bool {
				return w.has(w.ns(t, rtr), floatingAddr, "nft", "list", "table", "inet", "neutrino-router")
			}},
		{name: "qdhcp veth deleted", ns: dhcpNS, argv: [][]string{{"ip", "link", "del", naming.DHCPInterface(id(kPort, dhcp1Port))}},
			repaired: func(w *world) bool {
				return w.has(w.ns(t, dhcpNS), "100.64.1.2/24", "ip", "addr", "show", naming.DHCPInterface(id(kPort, dhcp1Port)))
			}},
	}
	var journal []string
	for _, c := range cases {
		h := n.h
		if c.ns != "" {
			h = w.ns(t, c.ns)
		}
		settle(n)
		offset := len(p.log.String())
		for _, argv := range c.argv {
			w.l.MustRun(h, w.resolveHandle(t, h, argv)...)
		}
		took, ok := eventually(15*time.Second, func() bool {
			return len(diffState(n, &w.b.Topology)) == 0 && (c.repaired == nil || c.repaired(w))
		})
		trigger := repairTrigger(p.log.String()[offset:])
		journal = append(journal, fmt.Sprintf("%-32s repaired in %6s by %s", c.name, took.Round(10*time.Millisecond), trigger))
		if !ok {
			t.Errorf("%s: not repaired within 15 s; differences: %v\nagent log since:\n%s", c.name, diffState(n, &w.b.Topology), p.log.String()[offset:])
		}
	}
	t.Logf("repairs (resync interval 5 s; kernel notifications from the node, router and DHCP namespaces):\n%s", strings.Join(journal, "\n"))

	// The repaired node still works: the DHCP server answers on its new
	// port, routing, NAT and the floating IP carry packets.
	if err := w.lease(t); err != nil {
		t.Error("vm2 gets no DHCP lease after the repairs")
	}
	w.requireDataplane(t)
}

// settle waits (at most 3 s) until the agent's kernel-triggered resyncs
// stop for half a second, so that the echo of one repair does not pass for
// the trigger of the next.
func settle(n *node) {
	const series = `neutrino_resyncs_total{trigger="kernel"}`
	last, since := -1.0, time.Now()
	eventually(3*time.Second, func() bool {
		m, err := scrape(n.h)
		if err != nil {
			return false
		}
		if m[series] != last {
			last, since = m[series], time.Now()
		}
		return time.Since(since) >= 500*time.Millisecond
	})
}

// requireDataplane pings across the router and to the floating IP.
func (w *world) requireDataplane(t *testing.T) {
	t.Helper()
	for _, c := range []struct {
		from *namespace.Handle
		to   string
	}{{w.vms["vm1"], vm2Addr}, {w.vms["vm2"], vm1Addr}, {w.up, floatingAddr}} {
		if err := w.ping(c.from, c.to); err != nil {
			t.Error(err)
		}
	}
}

// ns opens a namespace the agent made, for the rest of the test.
func (w *world) ns(t *testing.T, name string) *namespace.Handle {
	h, err := w.n.mgr().Open(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// has reports whether argv, run in h, succeeds and prints want.
func (w *world) has(h *namespace.Handle, want string, argv ...string) bool {
	out, err := w.l.Run(h, 5*time.Second, argv...)
	return err == nil && strings.Contains(out, want)
}

// device returns one device of the node namespace (zero if absent).
func (w *world) device(name string) device {
	devs, _ := devices(w.n.h)
	return devs[name]
}

// hasFDB reports whether the VXLAN device forwards the remote port's MAC
// to node2.
func (w *world) hasFDB() bool {
	return w.has(w.n.h, mac(kPort, remotePort).String()+" dst 198.18.0.2", "bridge", "fdb", "show", "dev", naming.VXLAN(1001))
}

// resolveHandle replaces an argument "HANDLE:<text>" by the nftables handle
// of the rule whose line in `nft -a list ruleset` contains text.
func (w *world) resolveHandle(t *testing.T, h *namespace.Handle, argv []string) []string {
	out := append([]string(nil), argv...)
	for i, a := range out {
		text, ok := strings.CutPrefix(a, "HANDLE:")
		if !ok {
			continue
		}
		rules := w.l.MustRun(h, "nft", "-a", "list", "ruleset")
		for _, line := range strings.Split(rules, "\n") {
			if j := strings.LastIndex(line, "# handle "); j >= 0 && strings.Contains(line, text) {
				out[i] = strings.TrimSpace(line[j+len("# handle "):])
			}
		}
		if out[i] == a {
			t.Fatalf("no rule mentions %s:\n%s", text, rules)
		}
	}
	return out
}

// repairTrigger names what made the agent repair the node: the trigger of
// the first apply in log that changed something.
func repairTrigger(log string) string {
	for _, line := range strings.Split(log, "\n") {
		var e struct {
			Msg       string `json:"msg"`
			Trigger   string `json:"trigger"`
			Mutations int    `json:"mutations"`
			Err       string `json:"err"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Msg != "apply" || e.Mutations == 0 {
			continue
		}
		if e.Err != "" {
			return e.Trigger + " (with errors: " + e.Err + ")"
		}
		return e.Trigger
	}
	return "nothing logged"
}
