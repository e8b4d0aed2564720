package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/router"
)

// world is a one-node cloud with one of everything: an external flat
// network on ext0 towards "upstream", two VXLAN tenant networks with DHCP
// behind a router (SNAT, an extra route, a floating IP for vm1), vm1 with
// its address set by the port realizer, vm2 leasing its own by DHCP, a tap
// port, and a port on node2 (which runs no agent here) so that the VXLAN
// device has FDB entries.
type world struct {
	l    *lab.Lab
	n    *node
	up   *namespace.Handle
	vms  map[string]*namespace.Handle
	b    *builder
	file string
}

// Addresses and objects of the world, for the tests' checks.
const (
	vm1Port, vm2Port, tapPort, remotePort = 11, 12, 13, 14
	dhcp1Port                             = 1
	routerIdx                             = 1
	vm1Addr, vm2Addr                      = "100.64.1.11", "100.64.2.12"
	gatewayAddr, floatingAddr             = "203.0.113.11", "203.0.113.100"
)

var worldFlags = []string{"--physical-interface-mappings", "physnet1:ext0"}

func newWorld(t *testing.T) *world {
	l := lab.New(t)
	lab.RequireCmd(t, "nft", "bridge", "busybox", "ping")
	w := &world{l: l, n: newNode(l, "node1"), up: l.Namespace("upstream"), vms: map[string]*namespace.Handle{}}
	l.Link(w.n.h, "underlay", []string{"198.18.0.1/24"}, w.up, "underlay", []string{"198.18.0.2/24"})
	l.Link(w.n.h, "ext0", nil, w.up, "ext0", []string{"203.0.113.254/24"})
	for _, vm := range []string{"vm1", "vm2"} {
		w.vms[vm] = l.Namespace(vm)
	}
	b := &builder{}
	b.host("node1", "198.18.0.1")
	b.host("node2", "198.18.0.2")
	b.flatNet(extNet, "203.0.113.0/24")
	b.vxlanNet(1, "100.64.1.0/24", true)
	b.vxlanNet(2, "100.64.2.0/24", true)
	sg1, sg2 := b.group(1, 22, 22), b.group(2, 80, 80)
	b.dhcpPort(dhcp1Port, 1, "node1")
	b.dhcpPort(2, 2, "node1")
	b.instance(vm1Port, 1, 11, "node1", l.Manager().Path("vm1"), sg1)
	b.instance(vm2Port, 2, 12, "node1", l.Manager().Path("vm2"), sg1).Profile.ConfigureIPs = false
	b.instance(tapPort, 1, 13, "node1", "", sg2)
	b.instance(remotePort, 1, 14, "node2", "", sg1)
	b.router(routerIdx, extNet, 11, "node1", []int{1, 2},
		router.Route{Destination: mustPrefix("198.51.100.0/24"), NextHop: ip("100.64.1.200")})
	b.fip(1, extNet, 100, routerIdx, vm1Port)
	w.b = b
	w.file = filepath.Join(t.TempDir(), "topology.json")
	b.write(t, w.file)
	return w
}

// lease runs udhcpc in vm2 until it holds a lease.
func (w *world) lease(t *testing.T) error {
	t.Helper()
	out, err := w.l.Run(w.vms["vm2"], 30*time.Second, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "10", "-T", "1", "-A", "1",
		"-s", udhcpcScript(t))
	if err != nil {
		t.Logf("udhcpc in vm2: %v\n%s", err, out)
	}
	return err
}

// ping checks a path of the world with two pings.
func (w *world) ping(from *namespace.Handle, to string) error {
	out, err := w.l.Run(from, 20*time.Second, "ping", "-c2", "-i0.2", "-W3", to)
	if err != nil {
		return &pingError{to: to, out: out, err: err}
	}
	return nil
}

type pingError struct {
	to, out string
	err     error
}

func (e *pingError) Error() string { return "ping " + e.to + ": " + e.err.Error() + "\n" + e.out }
