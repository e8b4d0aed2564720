package router

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/subnet"
)

// raBenchNode is a lab host whose bridges the network realizer made.
func raBenchNode(b *testing.B, doc *docBuilder) (*lab.Lab, *namespace.Handle) {
	l := lab.New(b)
	host := l.Namespace("host")
	nets, err := network.NewRealizer(host)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := nets.Apply(context.Background(), network.Desired{Networks: doc.d.Networks}); err != nil {
		b.Fatal(err)
	}
	return l, host
}

// benchDocDualStack is benchDoc with an IPv6 slaac subnet on each internal
// network, carried by the same router interface: 100 routers × 2
// advertising interfaces.
func benchDocDualStack(n int) *docBuilder {
	b := benchDoc(n)
	for i := range b.d.Ports {
		p := &b.d.Ports[i]
		if p.DeviceOwner != "network:router_interface" {
			continue
		}
		k := len(b.d.Subnets)
		cidr := fmt.Sprintf("2001:db8:%x::/64", k)
		gw := fmt.Sprintf("2001:db8:%x::1", k)
		id := b.addSubnet(p.NetworkID, cidr, gw)
		setModes(b.subnet(id), subnet.ModeSLAAC, subnet.ModeSLAAC)
		b.subnet(id).DNSNameservers = []netip.Addr{netip.MustParseAddr("2001:db8::53")}
		p.FixedIPs = append(p.FixedIPs, fixed(id, gw))
	}
	return b
}

// BenchmarkBringUpRA measures what router advertisements add to bring-up:
// 100 dual-stack routers (2 interfaces with a slaac subnet each, gateway,
// SNAT, one floating IP) with RAs off and on. The difference is 200
// sockets opened inside router namespaces and their first RAs.
func BenchmarkBringUpRA(b *testing.B) {
	doc := benchDocDualStack(100)
	for _, mode := range []string{"ra-off", "ra-on"} {
		b.Run(mode, func(b *testing.B) {
			l, host := raBenchNode(b, doc)
			prefix := l.NodePrefix("n1")
			ras := 0
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				wipe(b, prefix)
				opts := []Option{WithPrefix(prefix), WithGARP(0, 0)}
				if mode == "ra-off" {
					opts = append(opts, WithRouterAdvertisements(0, 0))
				}
				r, err := NewRealizer(host, opts...)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rep, err := r.Apply(context.Background(), doc.d)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				ras = countKind(rep, "ra")
				r.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(ras), "ra-sockets")
		})
	}
}

// BenchmarkRAChangeAtOneInterface changes the DNS server of one subnet on a
// node with 100 dual-stack routers advertising: one Apply, one RA change,
// sent on that interface's socket; no socket opened.
func BenchmarkRAChangeAtOneInterface(b *testing.B) {
	doc := benchDocDualStack(100)
	l, host := raBenchNode(b, doc)
	r, err := NewRealizer(host, WithPrefix(l.NodePrefix("n1")), WithGARP(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Apply(context.Background(), doc.d); err != nil {
		b.Fatal(err)
	}
	srv, _ := r.raServer(false)
	sockets := func() (n int) {
		for _, g := range srv.Groups() {
			n += len(srv.Links(g))
		}
		return n
	}
	before := sockets()
	var target *subnet.Subnet
	for i := range doc.d.Subnets {
		if s := &doc.d.Subnets[i]; s.IPv6RAMode != "" {
			target = s // the last one: router 100's second interface
		}
	}
	dns := []netip.Addr{netip.MustParseAddr("2001:db8::54"), netip.MustParseAddr("2001:db8::53")} // the first differs
	ras, mutations := 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		target.DNSNameservers = dns[i%2 : i%2+1]
		rep, err := r.Apply(context.Background(), doc.d)
		if err != nil {
			b.Fatal(err)
		}
		ras += countKind(rep, "ra")
		mutations += rep.Mutations()
	}
	b.StopTimer()
	b.ReportMetric(float64(ras)/float64(b.N), "ra-changes/op")
	b.ReportMetric(float64(mutations)/float64(b.N), "mutations/op")
	b.ReportMetric(float64(sockets()-before), "sockets-opened")
	b.ReportMetric(float64(before), "sockets")
}

// BenchmarkNoopApplyRA is a no-op Apply over 100 dual-stack routers with
// RAs off and on: what reading back the advertisements adds to a pass.
func BenchmarkNoopApplyRA(b *testing.B) {
	doc := benchDocDualStack(100)
	for _, mode := range []string{"ra-off", "ra-on"} {
		b.Run(mode, func(b *testing.B) {
			l, host := raBenchNode(b, doc)
			opts := []Option{WithPrefix(l.NodePrefix("n1")), WithGARP(0, 0)}
			if mode == "ra-off" {
				opts = append(opts, WithRouterAdvertisements(0, 0))
			}
			r, err := NewRealizer(host, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			if _, err := r.Apply(context.Background(), doc.d); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rep, err := r.Apply(context.Background(), doc.d)
				if err != nil || rep.Mutations() != 0 {
					b.Fatal(err, rep.Changes)
				}
			}
		})
	}
}
