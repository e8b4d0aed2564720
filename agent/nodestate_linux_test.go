package agent

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// TestANoOpPassDumpsTheHostsLinksOnce: the network, port and DHCP
// realizers read the host's links; a pass that changes nothing dumps them
// once for all three, a pass that changes the node dumps again after each
// realizer that changed it, and the node still converges.
func TestANoOpPassDumpsTheHostsLinksOnce(t *testing.T) {
	f := newFixture(t)
	f.apply(t)
	if f.node.linkDumps < 2 {
		t.Errorf("bring-up made %d shared link dumps; the realizers after one that changed the node must dump afresh", f.node.linkDumps)
	}
	if rep := f.apply(t); rep.Mutations() != 0 {
		t.Fatalf("second apply: %s", rep)
	}
	if f.node.linkDumps != 1 {
		t.Errorf("a no-op pass made %d link dumps, want 1 shared by network, port and dhcp", f.node.linkDumps)
	}
	plan, err := f.node.Plan(context.Background(), f.topo)
	if err != nil || plan.Mutations() != 0 || f.node.linkDumps != 1 {
		t.Errorf("plan: %v, %d mutations, %d dumps", err, plan.Mutations(), f.node.linkDumps)
	}
}

// benchTopology is the bench's host at its full size in links, without
// routers (the router realizer reads the host through its own link
// mirror, not a dump): networks VXLAN networks, each with a DHCP port and
// perNet instance taps bound to node1.
func benchTopology(networks, perNet int) *neutrino.Topology {
	t := &neutrino.Topology{Hosts: []neutrino.Host{{Name: "node1", TunnelIP: netip.MustParseAddr("198.18.0.1")}}}
	mac := func(n, i int) port.MAC { return port.MustParseMAC(fmt.Sprintf("fa:16:3e:00:%02x:%02x", n, i)) }
	for n := range networks {
		nid := fmt.Sprintf("a%07d-0000-4000-8000-000000000000", n)
		sid := fmt.Sprintf("11111111-0000-4000-8000-%012d", n)
		cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(n), 0}), 24)
		t.Networks = append(t.Networks, network.Network{ID: nid, NetworkType: network.TypeVXLAN, SegmentationID: 1000 + n})
		t.Subnets = append(t.Subnets, subnet.Subnet{ID: sid, NetworkID: nid, CIDR: cidr, IPVersion: 4})
		addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{100, 64, byte(n), byte(i)}) }
		t.Ports = append(t.Ports, port.Port{ID: fmt.Sprintf("2%010d-0000-4000-8000-000000000000", n), NetworkID: nid,
			MACAddress: mac(n, 255), DeviceOwner: port.OwnerDHCP, HostID: "node1",
			FixedIPs: []port.FixedIP{{SubnetID: sid, IPAddress: addr(2)}}})
		for i := range perNet {
			t.Ports = append(t.Ports, port.Port{ID: fmt.Sprintf("3%05d%05d-0000-4000-8000-000000000000", n, i), NetworkID: nid,
				MACAddress: mac(n, i), DeviceOwner: "compute:nova", HostID: "node1",
				FixedIPs: []port.FixedIP{{SubnetID: sid, IPAddress: addr(10 + i)}}})
		}
	}
	return t
}

// BenchmarkNoOpApply measures a no-op Node.Apply at the bench's full size
// in host links (100 VXLAN networks, 1,300 taps, 100 DHCP ports: ~1,600
// links), with the pass's shared link dump and with one dump per realizer,
// side by side on one node: ns/op is one pass of each.
//
//	go test -run '^$' -bench NoOpApply -benchtime 20x ./agent/
func BenchmarkNoOpApply(b *testing.B) {
	l := lab.New(b)
	host := l.Namespace("node1")
	up := l.Namespace("upstream")
	l.Link(host, "underlay", []string{"198.18.0.1/24"}, up, "underlay", []string{"198.18.0.2/24"})
	topo := benchTopology(100, 13)
	topo.Defaults()
	node, err := New(host, Config{Host: "node1", Prefix: l.NodePrefix("node1")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = node.Close() })
	d, err := DesiredFor(topo, "node1")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if rep, err := node.ApplyDesired(ctx, d); err != nil {
		b.Fatalf("bring-up: %v\n%s", err, rep)
	}
	links, err := namespace.Dump(host.Netlink().LinkList)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("host links: %d", len(links))
	// The two modes alternate pass by pass, so that the machine's load
	// weighs on both alike; each reports its median.
	var shared, perRealizer []time.Duration
	pass := func(perReal bool) time.Duration {
		node.dumpPerRealizer = perReal
		defer func() { node.dumpPerRealizer = false }()
		start := time.Now()
		rep, err := node.ApplyDesired(ctx, d)
		took := time.Since(start)
		if err != nil || rep.Mutations() != 0 {
			b.Fatalf("no-op apply: %v\n%s", err, rep)
		}
		return took
	}
	i := 0
	for b.Loop() {
		first := i%2 == 0
		i++
		if first {
			shared = append(shared, pass(false))
			perRealizer = append(perRealizer, pass(true))
		} else {
			perRealizer = append(perRealizer, pass(true))
			shared = append(shared, pass(false))
		}
	}
	median := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	ms, mp := median(shared), median(perRealizer)
	b.ReportMetric(ms, "shared-ms")
	b.ReportMetric(mp, "per-realizer-ms")
	b.ReportMetric(ms/mp, "ratio")
}
