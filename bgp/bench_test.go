package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/subnet"
)

func benchRoutes(n int) []Route {
	out := make([]Route, 0, n)
	a := netip.MustParseAddr("198.19.0.0")
	nh := netip.MustParseAddr("198.19.250.1")
	for range n {
		a = a.Next()
		out = append(out, Route{Prefix: netip.PrefixFrom(a, 32), NextHop: nh})
	}
	return out
}

// BenchmarkServerApply10k announces 10,000 routes into the embedded gobgp
// RIB (no session: the cost of the speaker alone) and withdraws them.
func BenchmarkServerApply10k(b *testing.B) {
	s, err := NewServer()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx, Global{AS: 64512, RouterID: netip.MustParseAddr("198.18.0.1"), Passive: true}); err != nil {
		b.Fatal(err)
	}
	defer s.Stop(ctx)
	routes := benchRoutes(10000)
	b.ResetTimer()
	for range b.N {
		if _, err := s.Apply(ctx, routes); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Apply(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompute10kFIPs computes the routes of 10,000 FIPs behind 100
// routers.
func BenchmarkCompute10kFIPs(b *testing.B) {
	in := fipWorld(10000)
	sp := Speaker{ID: "s", LocalAS: 1, IPVersion: 4, Networks: []string{"ext"}}
	b.ResetTimer()
	for range b.N {
		if n := len(Compute(sp, in)); n != 10000 {
			b.Fatal(fmt.Sprint(n))
		}
	}
}

// fipWorld has n floating IPs from 198.19.0.0/16 behind 100 routers, each
// FIP a /32 the speaker advertises.
func fipWorld(n int) Inputs {
	in := Inputs{Subnets: []subnet.Subnet{{ID: "ext-v4", NetworkID: "ext", IPVersion: 4, CIDR: netip.MustParsePrefix("198.19.0.0/16")}}}
	base := netip.MustParseAddr("198.19.0.0")
	for r := range 100 {
		id := fmt.Sprintf("r%d", r)
		in.Routers = append(in.Routers, router.Router{ID: id})
		in.Ports = append(in.Ports, gwPort(id, "ext", fmt.Sprintf("ext-v4=198.19.250.%d", r+1)))
	}
	a := base
	for i := range n {
		a = a.Next()
		in.FloatingIPs = append(in.FloatingIPs, router.FloatingIP{ID: fmt.Sprintf("f%d", i), FloatingIPAddress: a,
			FloatingNetworkID: "ext", RouterID: fmt.Sprintf("r%d", i%100), PortID: fmt.Sprintf("vm%d", i)})
	}
	return in
}

// BenchmarkRealizerNoop10k is a no-op Apply with 10,000 FIPs advertised:
// compute, validate and diff, nothing sent.
func BenchmarkRealizerNoop10k(b *testing.B) {
	s, err := NewServer()
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRealizer(s, WithPassive())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	d := Desired{
		Speaker:  Speaker{ID: "s", LocalAS: 64512, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p"}},
		Peers:    []Peer{{ID: "p", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 64513}},
		Inputs:   fipWorld(10000),
		RouterID: netip.MustParseAddr("198.18.0.1"),
	}
	if _, err := r.Apply(ctx, d); err != nil {
		b.Fatal(err)
	}
	defer s.Stop(ctx)
	b.ResetTimer()
	for range b.N {
		rep, err := r.Apply(ctx, d)
		if err != nil || rep.Mutations() != 0 {
			b.Fatal(err, rep.Changes)
		}
	}
}

// BenchmarkRealizerApply10k announces the routes of 10,000 FIPs through
// the Realizer (compute, diff, report, gobgp's RIB; no session) and
// withdraws them again.
func BenchmarkRealizerApply10k(b *testing.B) {
	s, err := NewServer()
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRealizer(s, WithPassive())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	d := Desired{
		Speaker:  Speaker{ID: "s", LocalAS: 64512, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p"}},
		Peers:    []Peer{{ID: "p", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 64513}},
		RouterID: netip.MustParseAddr("198.18.0.1"),
	}
	empty, full := d, d
	empty.Inputs, full.Inputs = fipWorld(0), fipWorld(10000)
	if _, err := r.Apply(ctx, empty); err != nil {
		b.Fatal(err)
	}
	defer s.Stop(ctx)
	b.ResetTimer()
	for range b.N {
		if rep, err := r.Apply(ctx, full); err != nil || rep.Created["route"] != 10000 {
			b.Fatal(err, rep.Created)
		}
		b.StopTimer()
		if _, err := r.Apply(ctx, empty); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
