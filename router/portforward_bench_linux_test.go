package router

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkAddPortForwardingAt10k measures adding (and removing) one port
// forwarding on a floating IP that has 10,000: each must be one map
// element, whatever the number already there (kernel objects touched per
// change are reported as objects/op).
func BenchmarkAddPortForwardingAt10k(b *testing.B) {
	doc := &docBuilder{}
	ext, extSub := doc.network("198.18.0.0/15", "198.18.0.1", true)
	r := doc.router(ext, extSub, "198.18.0.2")
	_, s := doc.network("100.64.0.0/16", "100.64.0.1", false)
	doc.attach(r, s)
	const n = 10000
	pfs := make([]PortForwarding, 0, n+1)
	for i := 1; i <= n+1; i++ {
		// 100 instances, 100 ports each.
		addr := netip.AddrFrom4([4]byte{100, 64, 16, byte(i % 100)})
		pfs = append(pfs, PortForwarding{ID: fmt.Sprintf("pf-%d", i), Protocol: "tcp", InternalPortID: "p",
			InternalIPAddress: addr, ExternalPort: i, InternalPort: 1000 + i})
	}
	fip := FloatingIP{ID: "fip", FloatingIPAddress: netip.MustParseAddr("198.18.16.1"), FloatingNetworkID: ext,
		RouterID: r, PortForwardings: pfs[:n]}
	doc.d.FloatingIPs = []FloatingIP{fip}
	l, host := benchNode(b, doc)
	rz, err := NewRealizer(host, WithPrefix(l.NodePrefix("n1")), WithGARP(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	defer rz.Close()
	start := time.Now()
	rep, err := rz.Apply(context.Background(), doc.d)
	if err != nil {
		b.Fatal(err)
	}
	if got := rep.Created["nft-element"]; got != n {
		b.Fatalf("initial apply created %d elements, want %d", got, n)
	}
	initial := time.Since(start) // ResetTimer drops metrics reported before it
	with := doc.d
	more := fip
	more.PortForwardings = pfs[:n+1]
	with.FloatingIPs = []FloatingIP{more}
	b.ResetTimer()
	cpu := cpuTime()
	objects := 0
	for i := 0; i < b.N; i++ {
		d := with
		if i%2 == 1 {
			d = doc.d
		}
		rep, err := rz.Apply(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		// One element, plus the background conntrack cleanup on removal.
		m := rep.Created["nft-element"] + rep.Deleted["nft-element"]
		if m != 1 || rep.Mutations()-rep.Deleted["conntrack"] != 1 {
			b.Fatalf("one forwarding change made %d changes: %v", rep.Mutations(), rep.Changes)
		}
		objects += m
	}
	b.StopTimer()
	b.ReportMetric(float64(initial.Milliseconds()), "ms-initial-10k")
	b.ReportMetric(float64(objects)/float64(b.N), "objects/op")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	wipe(b, l.NodePrefix("n1"))
}
