package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/naming"
)

// TestDestroyAfterCrashLeavesNothing kills an apply half-way, then destroys
// the node: whatever the crash left (devices, namespaces, tables) goes, and
// another node sharing the machine (its own namespace and node prefix)
// keeps all it has.
func TestDestroyAfterCrashLeavesNothing(t *testing.T) {
	w := newWorld(t)
	n1 := w.n

	n2 := newNode(w.l, "node2")
	b2 := &builder{}
	b2.host("node2", "198.18.0.2")
	b2.vxlanNet(5, "100.64.5.0/24", true)
	b2.dhcpPort(50, 5, "node2")
	b2.instance(51, 5, 11, "node2", "", b2.group(1, 22, 22))
	b2.router(7, 0, 0, "node2", []int{5})
	file2 := filepath.Join(t.TempDir(), "node2.json")
	b2.write(t, file2)
	n2.mustExec(t, "apply", file2)
	requireConverged(t, n2, &b2.Topology)

	for _, kp := range []killPoint{{after: "port"}, {delay: 30 * time.Millisecond}} {
		if !killAt(n1.start(t, "apply", w.file, worldFlags...), kp) {
			t.Logf("apply ended before the kill %s", kp)
		}
	}
	t.Logf("the crashes left %s", progress(n1))

	start := time.Now()
	r := n1.exec(t, "destroy", "", worldFlags...)
	t.Logf("destroy took %v: %s", time.Since(start).Round(time.Millisecond), r)
	var bugs []string
	if names := unmarkedInNamespaces(t, n1); len(names) > 0 {
		// A kill between creating a veth and marking its router end: the
		// router realizer takes the namespace for someone else's.
		bugs = append(bugs, fmt.Sprintf("router: namespaces kept for their unmarked devices %v (removed by hand)", names))
		removeRemnants(t, n1, names)
		n1.mustExec(t, "destroy", "", worldFlags...)
	}
	if unmounted := requireDestroyed(t, n1); len(unmounted) > 0 {
		bugs = append(bugs, fmt.Sprintf("router: unmounted namespace files %v a kill inside namespace creation left are never removed", unmounted))
	}
	if r := n1.mustExec(t, "destroy", "", worldFlags...); r.mutations() != 0 {
		t.Errorf("a second destroy still changes things:\n%s", r.stdout)
	}
	requireConverged(t, n2, &b2.Topology)
	if len(bugs) > 0 {
		bugIn(t, "router", "%s", strings.Join(bugs, "; "))
	}
}

// unmarkedInNamespaces lists, as "namespace/device", the devices without
// an ownership alias in the node's qrouter- and qdhcp- namespaces.
func unmarkedInNamespaces(t *testing.T, n *node) []string {
	t.Helper()
	names, err := n.mgr().List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ns := range names {
		if !ownedNamespace(ns) || !n.mgr().Exists(ns) {
			continue
		}
		h, err := n.mgr().Open(ns)
		if err != nil {
			t.Fatal(err)
		}
		devs, err := devices(h)
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
		for name, d := range devs {
			if name != "lo" && d.alias == "" {
				out = append(out, n.mgr().FullName(ns)+"/"+name)
			}
		}
	}
	return out
}

// TestUnmountedNamespaceFilesAreTakenOver places the file a SIGKILL inside
// namespace creation leaves (created, not yet a mount point) where the
// router and DHCP namespaces go: apply takes them over, destroy removes
// them.
func TestUnmountedNamespaceFilesAreTakenOver(t *testing.T) {
	w := newWorld(t)
	n := w.n
	names := []string{naming.RouterNamespace(id(kRouter, routerIdx)), naming.DHCPNamespace(id(kNet, 1))}
	stale := func(extra string) {
		for _, name := range append(names, extra) {
			f, err := os.OpenFile(n.mgr().Path(name), os.O_CREATE|os.O_RDONLY, 0o444)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	gone := naming.RouterNamespace(id(kRouter, 42)) // of no desired router
	var left []string
	// leftover notes, and removes by hand, an unmounted file of a router
	// that is not desired.
	leftover := func(when string) {
		if _, err := os.Stat(n.mgr().Path(gone)); err == nil && !n.mgr().Exists(gone) {
			left = append(left, when+": "+gone)
			if err := os.Remove(n.mgr().Path(gone)); err != nil {
				t.Fatal(err)
			}
		}
	}
	stale(gone)
	n.mustExec(t, "apply", w.file, worldFlags...)
	leftover("apply")
	requireConverged(t, n, &w.b.Topology)

	n.mustExec(t, "destroy", "", worldFlags...)
	stale(gone)
	n.mustExec(t, "destroy", "", worldFlags...)
	for _, ns := range requireDestroyed(t, n) {
		left = append(left, "destroy: "+ns)
	}
	if len(left) > 0 {
		bugIn(t, "router", "unmounted qrouter- namespace files are never removed (removeRouter returns early when the name is no mount point): %v", left)
	}
}
