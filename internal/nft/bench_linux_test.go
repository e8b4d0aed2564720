package nft

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/nftables"
)

// BenchmarkNFTSet10k commits 10,000 disjoint prefixes (20,000 interval
// elements in 20 messages) into a fresh interval set in one batch.
func BenchmarkNFTSet10k(b *testing.B) {
	w := newWorld(b)
	ivs, err := Intervals(DisjointHosts(10000))
	if err != nil {
		b.Fatal(err)
	}
	elems := IntervalElements(ivs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		set := &nftables.Set{Table: w.table, Name: fmt.Sprintf("s%d", i), KeyType: nftables.TypeIPAddr, Interval: true}
		if err := w.c.AddSet(set, nil); err != nil {
			b.Fatal(err)
		}
		if err := AddElements(w.c, set, elems); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		w.c.DelSet(set)
		if err := w.c.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(elems)), "elements/op")
}

// BenchmarkNFTAddOneElement adds one element to a set holding 10,000
// addresses and deletes it again: two commits per op. In the interval set
// an address is two elements (a /32 interval); the hash set is the
// baseline, as this kernel's interval sets rebuild per commit.
func BenchmarkNFTAddOneElement(b *testing.B) {
	addrs := make([]netip.Addr, 0, 10000)
	for _, p := range DisjointHosts(10000) {
		addrs = append(addrs, p.Addr())
	}
	ivs, err := Intervals(DisjointHosts(10000))
	if err != nil {
		b.Fatal(err)
	}
	extra := netip.MustParseAddr("198.19.255.1")
	for _, tc := range []struct {
		name     string
		interval bool
		all, one []nftables.SetElement
	}{
		{"interval", true, IntervalElements(ivs), IntervalElements([]Interval{{Start: extra, End: extra.Next()}})},
		{"hash", false, AddrElements(addrs), AddrElements([]netip.Addr{extra})},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := newWorld(b)
			set := w.set(b, "big", nftables.TypeIPAddr, tc.interval)
			if err := AddElements(w.c, set, tc.all); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := AddElements(w.c, set, tc.one); err != nil {
					b.Fatal(err)
				}
				if err := DeleteElements(w.c, set, tc.one); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
