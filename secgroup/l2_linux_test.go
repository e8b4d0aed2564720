package secgroup

import (
	"context"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// TestWithL2Realizers composes the realizers as a node agent does: the
// network and port realizers plug two instances, and the security groups
// filter them by the tap names the port realizer gave their devices.
func TestWithL2Realizers(t *testing.T) {
	l := lab.New(t)
	host := l.Namespace("host")
	vma, vmb := l.Namespace("vma"), l.Namespace("vmb")
	ctx := context.Background()
	n := network.Network{ID: "5b0e4c1a-1111-4000-8000-000000000001"}
	network.DefaultsFor(&n, network.TypeLocal)
	sub := subnet.Subnet{ID: "5b0e4c1a-2222-4000-8000-000000000002", NetworkID: n.ID, IPVersion: 4,
		CIDR: netip.MustParsePrefix("100.64.7.0/24"), GatewayIP: netip.MustParseAddr("100.64.7.1")}
	mk := func(id, ip string, mac byte, vm string, groups ...string) port.Port {
		return port.Port{ID: id, NetworkID: n.ID, DeviceOwner: "compute:nova", HostID: "node1",
			MACAddress:     port.MAC{0xfa, 0x16, 0x3e, 0, 7, mac},
			FixedIPs:       []port.FixedIP{{SubnetID: sub.ID, IPAddress: netip.MustParseAddr(ip)}},
			Profile:        port.Profile{NetNS: vm, ConfigureIPs: true},
			SecurityGroups: groups}
	}
	a := mk("a7a7a7a7-0000-4000-8000-000000000001", "100.64.7.10", 1, vma.Path(), "ga")
	b := mk("b7b7b7b7-0000-4000-8000-000000000002", "100.64.7.20", 2, vmb.Path(), "gb")

	nr, err := network.NewRealizer(host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nr.Apply(ctx, network.Desired{Networks: []network.Network{n}}); err != nil {
		t.Fatal(err)
	}
	pr, err := port.NewRealizer(host)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pr.Apply(ctx, port.Desired{Ports: []port.Port{a, b}, Networks: []network.Network{n}, Subnets: []subnet.Subnet{sub}}); err != nil {
		t.Fatal(err)
	}
	sg, err := NewRealizer(host)
	if err != nil {
		t.Fatal(err)
	}
	d := Desired{Groups: []SecurityGroup{group("ga", true, anyOut()...), group("gb", true, ports("tcp", 22, 22))}, Ports: []port.Port{a, b}}
	if _, err := sg.Apply(ctx, d); err != nil {
		t.Fatal(err)
	}
	waitOperUp(t, vma, "eth0")
	waitOperUp(t, vmb, "eth0")
	ipb := netip.MustParseAddr("100.64.7.20")
	if !tcpReaches(t, vma, vmb, ipb, 22) {
		t.Error("tcp 22, allowed, dropped")
	}
	if tcpProbe(t, vma, vmb, ipb, 23) {
		t.Error("tcp 23, not allowed, delivered")
	}
	if tcpProbe(t, vmb, vma, netip.MustParseAddr("100.64.7.10"), 22) {
		t.Error("ingress to A, which allows none, delivered")
	}
}
