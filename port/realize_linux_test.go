package port

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/subnet"
)

func TestMain(m *testing.M) { lab.Main(m) }

// node is a simulated host: a lab namespace with both L2 realizers.
type node struct {
	name string
	host *namespace.Handle
	net  *network.Realizer
	port *Realizer
}

func newNode(t *testing.T, l *lab.Lab, name string) *node {
	t.Helper()
	h := l.Namespace(name)
	nr, err := network.NewRealizer(h)
	require.NoError(t, err)
	pr, err := NewRealizer(h)
	require.NoError(t, err)
	return &node{name: name, host: h, net: nr, port: pr}
}

// topo is a topology's L2 collections.
type topo struct {
	hosts    map[string]netip.Addr
	networks []network.Network
	subnets  []subnet.Subnet
	ports    []Port
}

// apply realizes t on n, networks first, and returns both reports.
func (n *node) apply(t *testing.T, tp *topo) (*Report, *Report) {
	t.Helper()
	nd, pd := L2ForHost(n.name, tp.hosts, tp.networks, tp.subnets, tp.ports)
	nrep, err := n.net.Apply(context.Background(), nd)
	require.NoError(t, err)
	prep, err := n.port.Apply(context.Background(), pd)
	require.NoError(t, err)
	return nrep, prep
}

func (n *node) mustBeConverged(t *testing.T, tp *topo) {
	t.Helper()
	nrep, prep := n.apply(t, tp)
	assert.Zero(t, nrep.Mutations(), "second network Apply on %s: %v", n.name, nrep.Changes)
	assert.Zero(t, prep.Mutations(), "second port Apply on %s: %v", n.name, prep.Changes)
}

func testNet(id string, typ string, vni, mtu int) network.Network {
	return network.Network{ID: id, NetworkType: typ, SegmentationID: vni, MTU: mtu}
}

func testSubnet(id, netID, cidr string) subnet.Subnet {
	p := netip.MustParsePrefix(cidr)
	v := 4
	if p.Addr().Is6() {
		v = 6
	}
	return subnet.Subnet{ID: id, NetworkID: netID, CIDR: p, IPVersion: v, GatewayIP: p.Addr().Next()}
}

func withIP(p Port, subnetID, ip string) Port {
	p.FixedIPs = append(p.FixedIPs, FixedIP{SubnetID: subnetID, IPAddress: netip.MustParseAddr(ip)})
	return p
}

// vmPort is an instance port in vm's namespace with its address configured.
func vmPort(id, netID, subnetID, ip, host string, vm *namespace.Handle, mac byte) Port {
	return Port{
		ID: id, NetworkID: netID, DeviceOwner: "compute:nova", HostID: host,
		MACAddress: MAC{0xfa, 0x16, 0x3e, 0, 0, mac},
		FixedIPs:   []FixedIP{{SubnetID: subnetID, IPAddress: netip.MustParseAddr(ip)}},
		Profile:    Profile{NetNS: vm.Path(), ConfigureIPs: true},
	}
}

func ping(l *lab.Lab, from *namespace.Handle, to string) bool {
	for range 3 {
		if out, err := l.Run(from, 10*time.Second, "ping", "-c1", "-W1", to); err == nil && strings.Contains(out, "1 received") {
			return true
		}
	}
	return false
}

// udpEcho answers every datagram to port 7777 in h with reply. The socket is
// opened inside h (a socket stays in the namespace it was made in) and
// served from an ordinary goroutine.
func udpEcho(t *testing.T, h *namespace.Handle, reply string) {
	t.Helper()
	var conn net.PacketConn
	require.NoError(t, h.Do(func() (err error) {
		conn, err = net.ListenPacket("udp4", ":7777")
		return err
	}))
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = conn.WriteTo([]byte(reply), from)
		}
	}()
}

// udpAsk sends a datagram from h to addr:7777 and returns the answer, or ""
// when none came.
func udpAsk(t *testing.T, h *namespace.Handle, addr string) string {
	t.Helper()
	var conn net.PacketConn
	require.NoError(t, h.Do(func() (err error) {
		conn, err = net.ListenPacket("udp4", ":0")
		return err
	}))
	defer conn.Close()
	to := &net.UDPAddr{IP: net.ParseIP(addr), Port: 7777}
	buf := make([]byte, 64)
	for range 3 {
		if _, err := conn.WriteTo([]byte("hello"), to); err != nil {
			continue
		}
		_ = conn.SetReadDeadline(time.Now().Add(time.Second))
		if n, _, err := conn.ReadFrom(buf); err == nil {
			return string(buf[:n])
		}
	}
	return ""
}

const (
	netA = "aaaaaaaa-1111-4000-8000-000000000001"
	netB = "bbbbbbbb-2222-4000-8000-000000000002"
)

func TestOneNodeSameNetworkReachesOthersIsolated(t *testing.T) {
	l := lab.New(t)
	n1 := newNode(t, l, "n1")
	vm1, vm2, vm3, vm4 := l.Namespace("vm1"), l.Namespace("vm2"), l.Namespace("vm3"), l.Namespace("vm4")
	// Two networks with the same CIDR and the same addresses.
	tp := &topo{
		hosts:    map[string]netip.Addr{"n1": netip.MustParseAddr("198.18.0.1")},
		networks: []network.Network{testNet(netA, network.TypeVXLAN, 1001, 1450), testNet(netB, network.TypeLocal, 0, 1400)},
		subnets:  []subnet.Subnet{testSubnet("sa", netA, "100.64.1.0/24"), testSubnet("sb", netB, "100.64.1.0/24")},
		ports: []Port{
			vmPort("p1aaaaaaaaaaa", netA, "sa", "100.64.1.11", "n1", vm1, 1),
			vmPort("p2aaaaaaaaaaa", netA, "sa", "100.64.1.12", "n1", vm2, 2),
			vmPort("p3bbbbbbbbbbb", netB, "sb", "100.64.1.12", "n1", vm3, 3),
			vmPort("p4bbbbbbbbbbb", netB, "sb", "100.64.1.11", "n1", vm4, 4),
		},
	}
	ctx := context.Background()
	nd, pd := L2ForHost("n1", tp.hosts, tp.networks, tp.subnets, tp.ports)
	nplan, err := n1.net.Plan(ctx, nd)
	require.NoError(t, err)
	pplan, err := n1.port.Plan(ctx, pd)
	require.NoError(t, err, "the bridges are the network realizer's, to be made first")
	_, err = n1.port.Apply(ctx, pd)
	require.ErrorIs(t, err, errdefs.ErrNotFound, "Apply cannot plug into a bridge that is not there")
	nrep, err := n1.net.Apply(ctx, nd)
	require.NoError(t, err)
	assert.Equal(t, nplan, nrep, "Plan foretells Apply")
	assert.Equal(t, map[string]int{"bridge": 2, "vxlan": 1}, nrep.Created)
	prep, err := n1.port.Apply(ctx, pd)
	require.NoError(t, err)
	assert.Equal(t, pplan, prep, "Plan foretells Apply")
	assert.Equal(t, map[string]int{"port": 4}, prep.Created)
	n1.mustBeConverged(t, tp)

	udpEcho(t, vm2, "vm2")
	udpEcho(t, vm3, "vm3")
	assert.True(t, ping(l, vm1, "100.64.1.12"), "vm1 -> vm2 on network A")
	assert.Equal(t, "vm2", udpAsk(t, vm1, "100.64.1.12"), "UDP on network A reaches vm2, not vm3")
	assert.Equal(t, "vm3", udpAsk(t, vm4, "100.64.1.12"), "UDP on network B reaches vm3, not vm2")
	// vm3 is on B: vm1's neighbour table must never learn its MAC.
	out := l.MustRun(vm1, "ip", "neigh", "show")
	assert.NotContains(t, out, "fa:16:3e:00:00:03")

	// Isolation without the overlap: vm1 has no path to a B-only address.
	l.MustRun(vm3, "ip", "addr", "add", "100.64.1.99/24", "dev", "eth0")
	assert.False(t, ping(l, vm1, "100.64.1.99"), "vm1 must not reach network B")

	// Every device carries its network's MTU.
	for dev, mtu := range map[string]int{
		naming.Bridge(netA): 1450, "vxlan-1001": 1450, naming.Tap("p1aaaaaaaaaaa"): 1450, naming.Tap("p2aaaaaaaaaaa"): 1450,
		naming.Bridge(netB): 1400, naming.Tap("p3bbbbbbbbbbb"): 1400, naming.Tap("p4bbbbbbbbbbb"): 1400,
	} {
		link, err := n1.host.Netlink().LinkByName(dev)
		require.NoError(t, err, dev)
		assert.Equal(t, mtu, link.Attrs().MTU, dev)
	}
	for vm, mtu := range map[*namespace.Handle]int{vm1: 1450, vm2: 1450, vm3: 1400, vm4: 1400} {
		link, err := vm.Netlink().LinkByName("eth0")
		require.NoError(t, err)
		assert.Equal(t, mtu, link.Attrs().MTU, vm.Name())
	}
	out = l.MustRun(n1.host, "ip", "-6", "addr", "show")
	assert.NotContains(t, out, "fe80", "host-side devices carry no IPv6 address")
}

func TestTwoNodesVXLAN(t *testing.T) {
	l := lab.New(t)
	n1, n2 := newNode(t, l, "n1"), newNode(t, l, "n2")
	l.Link(n1.host, "underlay", []string{"198.18.0.1/24"}, n2.host, "underlay", []string{"198.18.0.2/24"})
	vm1, vm2, vm3 := l.Namespace("vm1"), l.Namespace("vm2"), l.Namespace("vm3")
	tp := &topo{
		hosts:    map[string]netip.Addr{"n1": netip.MustParseAddr("198.18.0.1"), "n2": netip.MustParseAddr("198.18.0.2")},
		networks: []network.Network{testNet(netA, network.TypeVXLAN, 1001, 1450)},
		subnets:  []subnet.Subnet{testSubnet("sa", netA, "100.64.1.0/24"), testSubnet("sa6", netA, "2001:db8:1::/64")},
		ports: []Port{
			withIP(vmPort("p1aaaaaaaaaaa", netA, "sa", "100.64.1.11", "n1", vm1, 1), "sa6", "2001:db8:1::11"),
			withIP(vmPort("p2aaaaaaaaaaa", netA, "sa", "100.64.1.12", "n2", vm2, 2), "sa6", "2001:db8:1::12"),
		},
	}
	n1.apply(t, tp)
	n2.apply(t, tp)
	n1.mustBeConverged(t, tp)
	n2.mustBeConverged(t, tp)

	assert.True(t, ping(l, vm1, "100.64.1.12"), "vm1 on n1 -> vm2 on n2 over VXLAN")
	assert.True(t, ping(l, vm1, "2001:db8:1::12"), "IPv6 too, neighbour discovery answered by n1's responder")
	udpEcho(t, vm2, "vm2")
	assert.Equal(t, "vm2", udpAsk(t, vm1, "100.64.1.12"))
	assertPopulation(t, n1, "vxlan-1001", []string{
		"00:00:00:00:00:00 dst 198.18.0.2", "fa:16:3e:00:00:02 dst 198.18.0.2",
	}, []string{"100.64.1.12 fa:16:3e:00:00:02", "2001:db8:1::12 fa:16:3e:00:00:02"})
	assertPopulation(t, n2, "vxlan-1001", []string{
		"00:00:00:00:00:00 dst 198.18.0.1", "fa:16:3e:00:00:01 dst 198.18.0.1",
	}, []string{"100.64.1.11 fa:16:3e:00:00:01", "2001:db8:1::11 fa:16:3e:00:00:01"})

	// A third instance on n2: n1 learns it from the topology, not the wire.
	tp.ports = append(tp.ports, vmPort("p3aaaaaaaaaaa", netA, "sa", "100.64.1.13", "n2", vm3, 3))
	nrep, _ := n1.apply(t, tp)
	assert.Equal(t, map[string]int{"fdb": 1, "neigh": 1}, nrep.Created)
	n2.apply(t, tp)
	assertPopulation(t, n1, "vxlan-1001", []string{
		"00:00:00:00:00:00 dst 198.18.0.2", "fa:16:3e:00:00:02 dst 198.18.0.2", "fa:16:3e:00:00:03 dst 198.18.0.2",
	}, []string{"100.64.1.12 fa:16:3e:00:00:02", "2001:db8:1::12 fa:16:3e:00:00:02", "100.64.1.13 fa:16:3e:00:00:03"})
	assert.True(t, ping(l, vm1, "100.64.1.13"))

	// An FDB entry deleted by hand comes back, alone.
	l.MustRun(n1.host, "bridge", "fdb", "del", "fa:16:3e:00:00:03", "dev", "vxlan-1001", "dst", "198.18.0.2")
	nrep, prep := n1.apply(t, tp)
	assert.Equal(t, map[string]int{"fdb": 1}, nrep.Created)
	assert.Equal(t, 1, nrep.Mutations()+prep.Mutations())

	// Removing the port removes its entries on the other node.
	tp.ports = tp.ports[:2]
	_, prep = n2.apply(t, tp)
	assert.Equal(t, map[string]int{"port": 1}, prep.Deleted)
	nrep, _ = n1.apply(t, tp)
	assert.Equal(t, map[string]int{"fdb": 1, "neigh": 1}, nrep.Deleted)
	assertPopulation(t, n1, "vxlan-1001", []string{
		"00:00:00:00:00:00 dst 198.18.0.2", "fa:16:3e:00:00:02 dst 198.18.0.2",
	}, []string{"100.64.1.12 fa:16:3e:00:00:02", "2001:db8:1::12 fa:16:3e:00:00:02"})
	n1.mustBeConverged(t, tp)
	n2.mustBeConverged(t, tp)
	assert.True(t, ping(l, vm1, "100.64.1.12"))
}

// assertPopulation checks that dev's own FDB and neighbour entries on n are
// exactly fdb ("mac dst vtep") and neigh ("ip mac").
func assertPopulation(t *testing.T, n *node, dev string, fdb, neigh []string) {
	t.Helper()
	h := n.host.Netlink()
	link, err := h.LinkByName(dev)
	require.NoError(t, err)
	entries, err := h.NeighList(link.Attrs().Index, unix.AF_BRIDGE)
	require.NoError(t, err)
	var gotFDB, gotNeigh []string
	for _, e := range entries {
		if e.Flags&netlink.NTF_SELF != 0 {
			gotFDB = append(gotFDB, fmt.Sprintf("%s dst %s", e.HardwareAddr, e.IP))
		}
	}
	entries, err = h.NeighList(link.Attrs().Index, unix.AF_UNSPEC)
	require.NoError(t, err)
	for _, e := range entries {
		gotNeigh = append(gotNeigh, fmt.Sprintf("%s %s", e.IP, e.HardwareAddr))
	}
	assert.ElementsMatch(t, fdb, gotFDB, "FDB of %s on %s", dev, n.name)
	assert.ElementsMatch(t, neigh, gotNeigh, "neighbours of %s on %s", dev, n.name)
}

func TestRepairRemovalAndConflicts(t *testing.T) {
	l := lab.New(t)
	n1 := newNode(t, l, "n1")
	vm1, vm2, vm3 := l.Namespace("vm1"), l.Namespace("vm2"), l.Namespace("vm3")
	p1, p2 := vmPort("p1aaaaaaaaaaa", netA, "sa", "100.64.1.11", "n1", vm1, 1), vmPort("p2aaaaaaaaaaa", netA, "sa", "100.64.1.12", "n1", vm2, 2)
	p2.Profile.IfName = "ens3"
	hv := Port{ID: "p5aaaaaaaaaaa", NetworkID: netA, DeviceOwner: "compute:nova", HostID: "n1", MACAddress: MAC{0xfa, 0x16, 0x3e, 0, 0, 5}}
	p3 := vmPort("p3bbbbbbbbbbb", netB, "sb", "100.64.2.13", "n1", vm3, 3)
	tp := &topo{
		hosts:    map[string]netip.Addr{"n1": netip.MustParseAddr("198.18.0.1")},
		networks: []network.Network{testNet(netA, network.TypeVXLAN, 1001, 1450), testNet(netB, network.TypeLocal, 0, 1500)},
		subnets:  []subnet.Subnet{testSubnet("sa", netA, "100.64.1.0/24"), testSubnet("sb", netB, "100.64.2.0/24")},
		ports:    []Port{p1, p2, hv, p3},
	}
	n1.apply(t, tp)
	n1.mustBeConverged(t, tp)
	h := n1.host.Netlink()
	tap := func(id string) netlink.Link {
		t.Helper()
		link, err := h.LinkByName(naming.Tap(id))
		require.NoError(t, err)
		return link
	}
	br := func(id string) int {
		link, err := h.LinkByName(naming.Bridge(id))
		require.NoError(t, err)
		return link.Attrs().Index
	}

	// The hypervisor port is a persistent single-queue tap in the bridge.
	tt, ok := tap(hv.ID).(*netlink.Tuntap)
	require.True(t, ok, "%T", tap(hv.ID))
	assert.Equal(t, netlink.TUNTAP_MODE_TAP, tt.Mode)
	assert.Zero(t, tt.Flags&netlink.TUNTAP_MULTI_QUEUE)
	assert.False(t, tt.NonPersist)
	assert.Equal(t, 1450, tt.MTU)
	assert.Equal(t, br(netA), tt.MasterIndex)
	assert.Equal(t, "neutrino:port:"+hv.ID, tt.Alias)

	// The veth port's instance end: its name, MAC, MTU, address, route.
	eth, err := vm2.Netlink().LinkByName("ens3")
	require.NoError(t, err)
	assert.Equal(t, "fa:16:3e:00:00:02", eth.Attrs().HardwareAddr.String())
	assert.Contains(t, l.MustRun(vm2, "ip", "addr", "show", "ens3"), "100.64.1.12/24")
	assert.Contains(t, l.MustRun(vm2, "ip", "route", "show", "default"), "default via 100.64.1.1 dev ens3 proto 77")
	assert.True(t, ping(l, vm1, "100.64.1.12"))

	// A tap deleted by hand comes back, and nothing else changes.
	require.NoError(t, h.LinkDel(tap(p2.ID)))
	nrep, prep := n1.apply(t, tp)
	assert.Equal(t, map[string]int{"port": 1}, prep.Created)
	assert.Equal(t, 1, nrep.Mutations()+prep.Mutations(), prep.Changes)
	assert.True(t, ping(l, vm1, "100.64.1.12"), "connectivity restored")
	require.NoError(t, h.LinkDel(tap(hv.ID)))
	_, prep = n1.apply(t, tp)
	assert.Equal(t, map[string]int{"port": 1}, prep.Created)
	assert.Equal(t, 1, prep.Mutations())

	// Drift inside and outside the instance is repaired in place.
	l.MustRun(vm1, "ip", "link", "set", "eth0", "address", "fa:16:3e:00:00:77")
	l.MustRun(n1.host, "ip", "link", "set", naming.Tap(p1.ID), "nomaster")
	l.MustRun(vm1, "ip", "addr", "flush", "dev", "eth0")
	_, prep = n1.apply(t, tp)
	assert.Equal(t, []string{
		"update port tapp1aaaaaaaaa: master none -> brqaaaaaaaa-11, eth0 mac fa:16:3e:00:00:77 -> fa:16:3e:00:00:01",
		"create address 100.64.1.11/24 on eth0 in " + vm1.Path(),
		"create route default via 100.64.1.1 on eth0 in " + vm1.Path(),
	}, prep.Changes)
	n1.mustBeConverged(t, tp)
	assert.True(t, ping(l, vm1, "100.64.1.12"))

	// admin_state_up=false takes the host end down.
	down := false
	tp.ports[1].AdminStateUp = &down
	_, prep = n1.apply(t, tp)
	assert.Equal(t, []string{"update port tapp2aaaaaaaaa: down"}, prep.Changes)
	assert.Zero(t, tap(p2.ID).Attrs().Flags&net.FlagUp)
	assert.False(t, ping(l, vm1, "100.64.1.12"))
	tp.ports[1].AdminStateUp = nil
	n1.apply(t, tp)

	// A foreign device with a port's name is an error, and left alone.
	p4 := vmPort("p4aaaaaaaaaaa", netA, "sa", "100.64.1.14", "n1", l.Namespace("vm4"), 4)
	l.MustRun(n1.host, "ip", "link", "add", naming.Tap(p4.ID), "mtu", "1300", "type", "veth", "peer", "name", "foreign0")
	tp.ports = append(tp.ports, p4)
	nd, pd := L2ForHost("n1", tp.hosts, tp.networks, tp.subnets, tp.ports)
	_, err = n1.net.Apply(context.Background(), nd)
	require.NoError(t, err)
	prep, err = n1.port.Apply(context.Background(), pd)
	require.ErrorIs(t, err, errdefs.ErrConflict)
	assert.ErrorContains(t, err, p4.ID)
	assert.Zero(t, prep.Mutations(), "the other ports are fine already")
	assert.Equal(t, 1300, tap(p4.ID).Attrs().MTU)
	assert.Empty(t, tap(p4.ID).Attrs().Alias)
	tp.ports = tp.ports[:len(tp.ports)-1]

	// A missing instance namespace fails its port only.
	gone := vmPort("p6aaaaaaaaaaa", netA, "sa", "100.64.1.16", "n1", vm1, 6)
	gone.Profile.NetNS = "/run/netns/" + l.Prefix() + "nosuchvm"
	_, pd = L2ForHost("n1", tp.hosts, tp.networks, tp.subnets, append(tp.ports, gone))
	prep, err = n1.port.Apply(context.Background(), pd)
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	assert.ErrorContains(t, err, gone.ID)
	assert.Zero(t, prep.Mutations())

	// Removing network A removes its bridge, VXLAN device and ports, and
	// nothing else: not network B, not a foreign device.
	tp.networks, tp.subnets, tp.ports = tp.networks[1:], tp.subnets[1:], []Port{p3}
	nrep, prep = n1.apply(t, tp)
	assert.Equal(t, map[string]int{"bridge": 1, "vxlan": 1}, nrep.Deleted)
	assert.Equal(t, map[string]int{"port": 3}, prep.Deleted)
	links, err := h.LinkList()
	require.NoError(t, err)
	var left []string
	for _, link := range links {
		left = append(left, link.Attrs().Name)
	}
	assert.ElementsMatch(t, []string{"lo", naming.Bridge(netB), naming.Tap(p3.ID), naming.Tap(p4.ID), "foreign0"}, left)
	_, err = vm1.Netlink().LinkByName("eth0")
	assert.Error(t, err, "the instance end went with its host end")
	_, err = vm1.Netlink().LinkByName("lo")
	assert.NoError(t, err, "the instance namespace is not ours: it stays")
	n1.mustBeConverged(t, tp)
}

func TestInstanceEndFollowsProfile(t *testing.T) {
	l := lab.New(t)
	n1 := newNode(t, l, "n1")
	vm1, vm5 := l.Namespace("vm1"), l.Namespace("vm5")
	tp := &topo{
		hosts:    map[string]netip.Addr{"n1": netip.MustParseAddr("198.18.0.1")},
		networks: []network.Network{testNet(netA, network.TypeLocal, 0, 1500)},
		subnets:  []subnet.Subnet{testSubnet("sa", netA, "100.64.1.0/24")},
		ports:    []Port{vmPort("p1aaaaaaaaaaa", netA, "sa", "100.64.1.11", "n1", vm1, 1)},
	}
	n1.apply(t, tp)

	// Renamed by hand (a device is renamed down, which flushed the route):
	// renamed back, route restored.
	l.MustRun(vm1, "ip", "link", "set", "eth0", "down")
	l.MustRun(vm1, "ip", "link", "set", "eth0", "name", "other")
	l.MustRun(vm1, "ip", "link", "set", "other", "up")
	_, prep := n1.apply(t, tp)
	assert.Equal(t, []string{
		"update port tapp1aaaaaaaaa: instance end other -> eth0",
		"create route default via 100.64.1.1 on eth0 in " + vm1.Path(),
	}, prep.Changes)
	n1.mustBeConverged(t, tp)

	// The instance moved to another namespace: the pair is made again there.
	tp.ports[0].Profile.NetNS = vm5.Path()
	_, prep = n1.apply(t, tp)
	assert.Equal(t, []string{"update port tapp1aaaaaaaaa: re-create (peer missing from " + vm5.Path() + ")"}, prep.Changes)
	_, err := vm1.Netlink().LinkByName("eth0")
	assert.Error(t, err, "the old instance end went with the old pair")
	eth, err := vm5.Netlink().LinkByName("eth0")
	require.NoError(t, err)
	assert.Equal(t, "fa:16:3e:00:00:01", eth.Attrs().HardwareAddr.String())
	assert.Contains(t, l.MustRun(vm5, "ip", "addr", "show", "eth0"), "100.64.1.11/24")
	n1.mustBeConverged(t, tp)

	// A bare name is looked up under /run/netns.
	tp.ports[0].Profile.NetNS = vm5.Name()
	n1.mustBeConverged(t, tp)
}
