package vpn_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/vpn"
)

// BenchmarkConnectionToFirstPacket measures, per connection, the time from
// its appearing in site A's document (Apply, charon started in the router
// namespace, connection loaded through vici, IKE with site B) to the first
// TCP connection through the tunnel. Run: go test -run - -bench
// FirstPacket -benchtime 3x ./vpn
func BenchmarkConnectionToFirstPacket(b *testing.B) {
	benchSites(b, func(a, bs *site) {
		conn := a.topo.IPsecSiteConnections
		a.topo.IPsecSiteConnections = nil
		a.apply(b)
		bs.apply(b)
		var ln net.Listener
		if err := bs.inst.Do(func() (err error) { ln, err = net.Listen("tcp", bs.vm+":7001"); return err }); err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			a.topo.IPsecSiteConnections = conn
			a.apply(b)
			deadline := time.Now().Add(60 * time.Second)
			for {
				var err error
				_ = a.inst.Do(func() error {
					var c net.Conn
					if c, err = net.DialTimeout("tcp", bs.vm+":7001", 100*time.Millisecond); err == nil {
						c.Close()
					}
					return nil
				})
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("no packet through the tunnel after 60 s: %v", err)
				}
			}
			b.StopTimer()
			a.topo.IPsecSiteConnections = nil
			a.apply(b)
			b.StartTimer()
		}
	})
}

// Benchmark20Connections measures loading 20 connections (to peers that
// never answer: response-only) on one router, charon's start included,
// and their removal with it.
func Benchmark20Connections(b *testing.B) {
	benchSites(b, func(a, _ *site) {
		var conns []vpn.SiteConnection
		for i := range 20 {
			peer := netip.AddrFrom4([4]byte{192, 0, 2, byte(100 + i)}).String()
			conns = append(conns, vpn.SiteConnection{ID: fmt.Sprintf("c%02d", i), VPNServiceID: "sa-vpn", IKEPolicyID: "ike",
				IPsecPolicyID: "esp", PeerAddress: peer, PeerID: peer, Initiator: vpn.ResponseOnly, PSK: "bench key",
				PeerCIDRs: mustPrefixes(fmt.Sprintf("100.65.%d.0/24", i))})
		}
		a.topo.IPsecSiteConnections = nil
		a.apply(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			a.topo.IPsecSiteConnections = conns
			a.apply(b)
			a.topo.IPsecSiteConnections = nil
			a.apply(b)
		}
	})
}

// benchSites runs fn on two connected sites, as the tests build them.
func benchSites(b *testing.B, fn func(a, bs *site)) {
	requireIPsec(b)
	_, _, a, bs := twoSites(b, true)
	fn(a, bs)
}
