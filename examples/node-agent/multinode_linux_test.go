package main

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
)

// twoNodes is the multi-node world: node1 and node2 joined by an underlay
// link, three instances (vm1 on node1; vm2, vm3 on node2) on one VXLAN
// network whose DHCP server runs on node1. vm1 and vm2 get their addresses
// from the port realizer, vm3 by DHCP across the tunnel.
func twoNodes(l *lab.Lab) *builder {
	b := &builder{}
	b.host("node1", "198.18.0.1")
	b.host("node2", "198.18.0.2")
	b.vxlanNet(1, "100.64.10.0/24", true)
	sg := b.group(1, 22, 22)
	b.dhcpPort(1, 1, "node1")
	b.instance(11, 1, 11, "node1", l.Manager().Path("vm1"), sg)
	b.instance(12, 1, 12, "node2", l.Manager().Path("vm2"), sg)
	vm3 := b.instance(13, 1, 13, "node2", l.Manager().Path("vm3"), sg)
	vm3.Profile.ConfigureIPs = false
	return b
}

func TestTwoNodesOverVXLAN(t *testing.T) {
	l := lab.New(t)
	lab.RequireCmd(t, "busybox", "ping")
	n1, n2 := newNode(l, "node1"), newNode(l, "node2")
	l.Link(n1.h, "underlay", []string{"198.18.0.1/24"}, n2.h, "underlay", []string{"198.18.0.2/24"})
	vms := map[string]*namespace.Handle{}
	for _, name := range []string{"vm1", "vm2", "vm3"} {
		vms[name] = l.Namespace(name)
	}
	b := twoNodes(l)
	file := filepath.Join(t.TempDir(), "topology.json")
	b.write(t, file)

	a1 := n1.start(t, "run", file, "--resync-interval", "5s")
	a2 := n2.start(t, "run", file, "--resync-interval", "5s")
	waitApplied(t, n1, a1, 1)
	waitApplied(t, n2, a2, 1)

	t.Run("each node realizes its slice", func(t *testing.T) {
		requireConverged(t, n1, &b.Topology)
		requireConverged(t, n2, &b.Topology)
		devs, err := devices(n1.h)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []int{12, 13} {
			if _, ok := devs[naming.Tap(id(kPort, p))]; ok {
				t.Errorf("node1 plugged node2's port %d", p)
			}
		}
		if n2.mgr().Exists(naming.DHCPNamespace(id(kNet, 1))) {
			t.Error("node2 runs node1's DHCP server")
		}
	})

	t.Run("FDB lists the other node's ports", func(t *testing.T) {
		// l2population: each VTEP knows the MACs behind the other, and
		// floods to it through the all-zero entry.
		checkFDB(t, n1, "198.18.0.2", mac(kPort, 12).String(), mac(kPort, 13).String())
		checkFDB(t, n2, "198.18.0.1", mac(kPort, 1).String(), mac(kPort, 11).String())
	})

	t.Run("vm3 leases its address across the tunnel", func(t *testing.T) {
		out, err := l.Run(vms["vm3"], 30*time.Second, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "10", "-T", "1", "-A", "1",
			"-s", udhcpcScript(t))
		if err != nil {
			t.Fatalf("udhcpc in vm3: %v\n%s", err, out)
		}
		if !strings.Contains(out, "100.64.10.13") {
			t.Fatalf("vm3 leased another address than its fixed IP 100.64.10.13:\n%s", out)
		}
	})

	t.Run("instances on different nodes reach each other", func(t *testing.T) {
		for _, c := range []struct{ from, to string }{
			{"vm1", "100.64.10.12"}, {"vm1", "100.64.10.13"}, {"vm2", "100.64.10.11"}, {"vm3", "100.64.10.11"},
		} {
			if out, err := l.Run(vms[c.from], 20*time.Second, "ping", "-c2", "-i0.2", "-W3", c.to); err != nil {
				t.Errorf("%s -> %s: %v\n%s", c.from, c.to, err, out)
			}
		}
	})

	t.Run("a port moving to node1 follows", func(t *testing.T) {
		// vm2's port is rebound to node1: node2 unplugs it, node1 plugs
		// it, and both FDBs follow.
		for i := range b.Ports {
			if b.Ports[i].ID == id(kPort, 12) {
				b.Ports[i].HostID = "node1"
			}
		}
		b.write(t, file)
		for _, n := range []*node{n1, n2} {
			if _, ok := eventually(20*time.Second, func() bool { return len(diffState(n, &b.Topology)) == 0 }); !ok {
				requireConverged(t, n, &b.Topology)
			}
		}
		checkFDB(t, n2, "198.18.0.1", mac(kPort, 1).String(), mac(kPort, 11).String(), mac(kPort, 12).String())
		if out, err := l.Run(vms["vm3"], 20*time.Second, "ping", "-c2", "-i0.2", "-W3", "100.64.10.12"); err != nil {
			t.Errorf("vm3 -> vm2 after the move: %v\n%s", err, out)
		}
	})

	for _, a := range []*agentProc{a1, a2} {
		if err := a.stop(syscall.SIGTERM); err != nil {
			t.Errorf("agent did not stop cleanly on SIGTERM: %v\n%s", err, a.log.String())
		}
	}
	// SIGTERM leaves the dataplane in place.
	requireConverged(t, n1, &b.Topology)
	requireConverged(t, n2, &b.Topology)
}

// checkFDB requires the node's VXLAN device for network 1 to forward each
// MAC, and flood, to vtep.
func checkFDB(t *testing.T, n *node, vtep string, macs ...string) {
	t.Helper()
	vx, err := n.h.Netlink().LinkByName(naming.VXLAN(1001))
	if err != nil {
		t.Fatalf("%s: %v", n.host, err)
	}
	neighs, err := nl.Dump(func() ([]netlink.Neigh, error) { return n.h.Netlink().NeighList(vx.Attrs().Index, syscall.AF_BRIDGE) })
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range neighs {
		if e.IP != nil {
			have[e.HardwareAddr.String()+" "+e.IP.String()] = true
		}
	}
	for _, m := range append(macs, net.HardwareAddr(make([]byte, 6)).String()) {
		if !have[m+" "+vtep] {
			t.Errorf("%s: no FDB entry %s dst %s; have %v", n.host, m, vtep, have)
		}
	}
	if t.Failed() {
		out, _ := n.l.Run(n.h, 5*time.Second, "bridge", "fdb", "show", "dev", naming.VXLAN(1001))
		t.Log(fmt.Sprint(out))
	}
}
