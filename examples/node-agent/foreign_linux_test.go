package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
)

// foreignNode is what other software put in the node namespace: a bridge
// and a veth named like ours but without our alias, an unrelated veth with
// an address, a static route, and an inet filter table with a rule.
var foreignNode = [][]string{
	{"ip", "link", "add", "brqdeadbeef-00", "type", "bridge"},
	{"ip", "link", "add", "tapdeadbeef-00", "type", "veth", "peer", "name", "fpeer0"},
	{"ip", "link", "add", "fveth0", "type", "veth", "peer", "name", "fveth1"},
	{"ip", "link", "set", "fveth0", "up"},
	{"ip", "addr", "add", "192.0.2.1/24", "dev", "fveth0"},
	{"ip", "route", "add", "198.51.100.0/25", "via", "192.0.2.254", "proto", "static"},
	{"nft", "add", "table", "inet", "filter"},
	{"nft", "add", "chain", "inet", "filter", "input", "{ type filter hook input priority 0; policy accept; }"},
	{"nft", "add", "rule", "inet", "filter", "input", "tcp", "dport", "22", "accept"},
}

// foreignRouter is what other software put in a router namespace.
func foreignRouter(gw string) [][]string {
	return [][]string{
		{"ip", "route", "add", "192.0.2.0/24", "via", "203.0.113.254", "dev", gw, "proto", "static"},
		{"nft", "add", "table", "inet", "filter"},
		{"nft", "add", "chain", "inet", "filter", "input", "{ type filter hook input priority 0; policy accept; }"},
		{"nft", "add", "rule", "inet", "filter", "input", "tcp", "dport", "22", "accept"},
	}
}

// foreignNamespaces are namespaces the agent did not create: another node's
// router, and a name under our prefix outside the qrouter-/qdhcp- scheme.
// (A namespace named <prefix>qrouter-<id> is ours by name, as in Neutron,
// whose netns cleanup deletes such namespaces too: the node prefix is the
// ownership boundary.)
func foreignNamespaces() []string {
	return []string{"node2-" + naming.RouterNamespace(id(kRouter, 99)), "node1-unrelated", "other-" + naming.DHCPNamespace(id(kNet, 1))}
}

// snapshotForeign renders the foreign objects as the kernel shows them.
func snapshotForeign(t *testing.T, w *world, h *namespace.Handle, names []string) string {
	t.Helper()
	var b strings.Builder
	devs, err := devices(h)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		d, ok := devs[name]
		fmt.Fprintf(&b, "device %s present=%v kind=%s alias=%q master=%q up=%v mtu=%d\n", name, ok, d.kind, d.alias, d.master, d.up, d.mtu)
	}
	b.WriteString(w.l.MustOutput(h, "ip", "route", "show", "proto", "static"))
	b.WriteString(w.l.MustOutput(h, "ip", "-4", "addr", "show"))
	b.WriteString(w.l.MustOutput(h, "nft", "list", "table", "inet", "filter"))
	return b.String()
}

func nsPresence(w *world) string {
	var out []string
	for _, ns := range foreignNamespaces() {
		out = append(out, fmt.Sprintf("%s=%v", ns, w.l.Manager().Exists(ns)))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestForeignObjectsSurvive puts other software's devices, routes, tables
// and namespaces beside the agent's, and requires apply, run and destroy
// to leave them exactly as they were; destroy must still remove everything
// the agent owns. A foreign device with one of our names is a conflict,
// reported and left alone.
func TestForeignObjectsSurvive(t *testing.T) {
	w := newWorld(t)
	n := w.n
	for _, argv := range foreignNode {
		w.l.MustRun(n.h, argv...)
	}
	for _, ns := range foreignNamespaces() {
		w.l.Namespace(ns)
	}
	names := []string{"brqdeadbeef-00", "tapdeadbeef-00", "fpeer0", "fveth0", "fveth1"}
	nodeBefore, nsBefore := snapshotForeign(t, w, n.h, names), nsPresence(w)
	check := func(when string) {
		t.Helper()
		if got := snapshotForeign(t, w, n.h, names); got != nodeBefore {
			t.Errorf("%s changed foreign objects of the node namespace:\nbefore:\n%s\nafter:\n%s", when, nodeBefore, got)
		}
		if got := nsPresence(w); got != nsBefore {
			t.Errorf("%s changed foreign namespaces: before %s, after %s", when, nsBefore, got)
		}
	}

	n.mustExec(t, "apply", w.file, worldFlags...)
	requireConverged(t, n, &w.b.Topology)
	check("apply")

	rtr := w.ns(t, naming.RouterNamespace(id(kRouter, routerIdx)))
	gw := naming.RouterGateway(id(kPort, 0x8000+routerIdx))
	for _, argv := range foreignRouter(gw) {
		w.l.MustRun(rtr, argv...)
	}
	rtrBefore := snapshotForeign(t, w, rtr, nil)

	// run: a few resyncs, and the kernel events of foreign changes.
	p := n.start(t, "run", w.file, append(worldFlags, "--resync-interval", "1s")...)
	waitApplied(t, n, p, 1)
	w.l.MustRun(n.h, "ip", "link", "set", "fveth1", "up") // a foreign change the agent hears of
	nodeBefore = snapshotForeign(t, w, n.h, names)
	waitApplied(t, n, p, 4)
	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Errorf("run: %v\n%s", err, p.log.String())
	}
	check("run")
	if got := snapshotForeign(t, w, rtr, nil); got != rtrBefore {
		t.Errorf("run changed foreign objects in the router namespace:\nbefore:\n%s\nafter:\n%s", rtrBefore, got)
	}
	requireConverged(t, n, &w.b.Topology)

	n.mustExec(t, "destroy", "", worldFlags...)
	check("destroy")
	if left := requireDestroyed(t, n, "unrelated"); len(left) > 0 { // node1-unrelated is under the node prefix
		t.Errorf("destroy left unmounted namespace files %v", left)
	}

	t.Run("a foreign device with our name is a conflict", func(t *testing.T) {
		br := naming.Bridge(id(kNet, 2))
		w.l.MustRun(n.h, "ip", "link", "add", br, "type", "bridge")
		before := snapshotForeign(t, w, n.h, []string{br})
		r := n.exec(t, "apply", w.file, worldFlags...)
		if r.code == 0 || !strings.Contains(r.stderr, br) {
			t.Errorf("apply beside a foreign %s: want an error naming it, got %s", br, r)
		}
		devs, _ := devices(n.h)
		// The rest is realized: network 1's bridge, vm1's port.
		if devs[naming.Bridge(id(kNet, 1))].alias == "" || devs[naming.Tap(id(kPort, vm1Port))].alias == "" {
			t.Errorf("one conflicting network stopped the others: %v", owned(devs))
		}
		// Nothing of ours joins the foreign bridge.
		var joined, pkgs []string
		for _, d := range devs {
			if d.master == br {
				joined = append(joined, d.name+" ("+d.alias+")")
				kind, _, _ := naming.ParseOwner(d.alias)
				pkgs = append(pkgs, strings.TrimSuffix(kind, "-port"))
			}
		}
		if len(joined) > 0 {
			// A realizer that does not check the bridge's alias enslaves
			// its host ends to any device with the bridge's name.
			defer bugIn(t, strings.Join(pkgs, ", "), "%v enslaved to the foreign bridge %s", joined, br)
		}
		n.exec(t, "destroy", "", worldFlags...)
		if got := snapshotForeign(t, w, n.h, []string{br}); got != before {
			t.Errorf("apply and destroy changed the foreign %s:\nbefore:\n%s\nafter:\n%s", br, before, got)
		}
		check("apply and destroy beside a conflict")
	})
}

// bugIn fails t for a bug of the named packages that this suite found
// (and that was fixed: it must not come back).
func bugIn(t *testing.T, pkgs, format string, args ...any) {
	t.Helper()
	t.Errorf("BUG in %s: %s", pkgs, fmt.Sprintf(format, args...))
}

// requireDestroyed fails unless the node holds nothing the agent owns: no
// device with our alias, no table of ours, no namespace under the node
// prefix but those listed as foreign (names after the node prefix). It
// returns the namespace files left unmounted, which it leaves to the caller.
func requireDestroyed(t *testing.T, n *node, foreign ...string) (unmounted []string) {
	t.Helper()
	devs, err := devices(n.h)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for name, alias := range owned(devs) {
		left = append(left, "device "+name+" "+alias)
	}
	for name := range devs {
		if strings.HasPrefix(name, "vxlan-") {
			left = append(left, "device "+name)
		}
	}
	ts, err := tables(n.h)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range ourTables(ts) {
		left = append(left, "table "+tb)
	}
	names, _ := n.mgr().List()
	for _, ns := range names {
		switch {
		case !ownedNamespace(ns) && slices.Contains(foreign, ns):
		case !n.mgr().Exists(ns):
			unmounted = append(unmounted, ns)
		default:
			left = append(left, "namespace "+ns)
		}
	}
	if len(left) > 0 {
		sort.Strings(left)
		t.Errorf("destroy left %d owned objects:\n%s", len(left), strings.Join(left, "\n"))
	}
	return unmounted
}
