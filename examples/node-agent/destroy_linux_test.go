package main

import (
	"os"
	"path/filepath"
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
	unmounted := requireDestroyed(t, n1)
	if r := n1.mustExec(t, "destroy", "", worldFlags...); r.mutations() != 0 {
		t.Errorf("a second destroy still changes things:\n%s", r.stdout)
	}
	requireConverged(t, n2, &b2.Topology)
	if len(unmounted) > 0 {
		knownBug(t, "router", "destroy leaves the unmounted namespace files %v a kill inside namespace creation left", unmounted)
	}
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
		knownBug(t, "router", "unmounted qrouter- namespace files are never removed (removeRouter returns early when the name is no mount point): %v", left)
	}
}
