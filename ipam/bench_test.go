package ipam

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
)

// benchChurn fills a to within 64 addresses of full (or to fill addresses
// for huge pools), then measures one AllocateNext plus one Release of a
// random held address per op: holes keep moving all over the pool, which is
// the case a cursor or a linear scan handles worst.
func benchChurn(b *testing.B, a *Allocator, fill int) {
	held := make([]netip.Addr, 0, fill)
	for i := range fill {
		addr, err := a.AllocateNext(fmt.Sprint("port-", i))
		if err != nil {
			b.Fatal(err)
		}
		held = append(held, addr)
	}
	r := rand.New(rand.NewPCG(1, 1))
	defer reportCPU(b)()
	for range b.N {
		addr, err := a.AllocateNext("port-new")
		if err != nil {
			b.Fatal(err)
		}
		i := r.IntN(len(held))
		if err := a.Release(held[i]); err != nil {
			b.Fatal(err)
		}
		held[i] = addr
	}
}

// reportCPU resets the timer and returns the function that reports CPU
// time per op next to ns/op.
func reportCPU(b *testing.B) func() {
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	return func() {
		if start != 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkAllocateRelease16 shows the cost does not grow with the pool:
// /24, /20 and /16 nearly full cost the same per op.
func BenchmarkAllocateRelease16(b *testing.B) {
	for _, cidr := range []string{"10.0.0.0/24", "10.0.0.0/20", "10.0.0.0/16"} {
		b.Run(cidr, func(b *testing.B) {
			a := newDefaultAllocator(b, cidr, &MemoryStore{})
			size := int(DefaultPools(netip.MustParsePrefix(cidr), DefaultGateway(netip.MustParsePrefix(cidr)))[0].Size().Int64())
			benchChurn(b, a, size-64)
		})
	}
}

// BenchmarkAllocateNext64 is the same churn in an IPv6 /64 pool of 2^64-1
// addresses holding 10,000.
func BenchmarkAllocateNext64(b *testing.B) {
	benchChurn(b, newDefaultAllocator(b, "2001:db8::/64", &MemoryStore{}), 10000)
}

// BenchmarkAllocateSLAAC64 derives a port's EUI-64 address and reserves it
// in a /64 holding 10,000 others scattered by their MACs, releasing the
// oldest port's address to stay at that size.
func BenchmarkAllocateSLAAC64(b *testing.B) {
	prefix := netip.MustParsePrefix("2001:db8::/64")
	a := newDefaultAllocator(b, prefix.String(), &MemoryStore{})
	r := rand.New(rand.NewPCG(2, 2))
	mac := func() net.HardwareAddr {
		m := make(net.HardwareAddr, 6)
		v := r.Uint64()
		for i := range m {
			m[i] = byte(v >> (8 * i))
		}
		m[0] = 0xfa
		return m
	}
	const ports = 10000
	ring := make([]netip.Addr, 0, ports)
	for len(ring) < ports {
		addr, err := SLAAC(prefix, mac())
		if err != nil {
			b.Fatal(err)
		}
		if a.Allocate("port", addr) == nil {
			ring = append(ring, addr)
		}
	}
	defer reportCPU(b)()
	for i := range b.N {
		addr, err := SLAAC(prefix, mac())
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Allocate("port", addr); err != nil {
			b.Fatal(err)
		}
		if err := a.Release(ring[i%ports]); err != nil {
			b.Fatal(err)
		}
		ring[i%ports] = addr
	}
}

// BenchmarkFileStoreAllocateRelease is the churn through the FileStore: its
// cost is the file system's (two fsyncs per reservation), not the pool's.
func BenchmarkFileStoreAllocateRelease(b *testing.B) {
	s, err := OpenFileStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	benchChurn(b, newDefaultAllocator(b, "10.0.0.0/24", s), 189)
}

// BenchmarkFirstFree isolates the search the allocator relies on, over pools
// from 256 addresses to 16 million (an IPv4 /8) and a /64, each nearly full
// with holes moving at random: one lowest-free lookup, one take and one
// release per op. The figures should not grow with the pool.
func BenchmarkFirstFree(b *testing.B) {
	for _, c := range []struct {
		name string
		span u128
		fill uint64
	}{
		{"/24", u128{lo: 1<<8 - 1}, 1<<8 - 64},
		{"/16", u128{lo: 1<<16 - 1}, 1<<16 - 64},
		{"/8", u128{lo: 1<<24 - 1}, 1<<24 - 64},
		{"/64", u128{lo: ^uint64(0)}, 1 << 16},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := newOccupancy(c.span)
			for i := range c.fill {
				o.take(u128{lo: i})
			}
			r := rand.New(rand.NewPCG(3, 3))
			defer reportCPU(b)()
			for range b.N {
				off, ok := o.firstFree()
				if !ok {
					b.Fatal("full")
				}
				o.take(off)
				o.free(u128{lo: r.Uint64N(c.fill)})
			}
		})
	}
}
