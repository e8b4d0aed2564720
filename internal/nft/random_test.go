package nft

import (
	"math/rand/v2"
	"net/netip"
)

// benchRange holds every address the generated lists use (a benchmarking
// range, never routed).
var benchRange = netip.MustParsePrefix("198.18.0.0/15")

// RandomPrefixes returns n prefixes of lengths /24 to /32 inside benchRange,
// mostly /29 and longer with a few up to /24, so that many overlap, contain
// or touch one another without the list collapsing into a few intervals.
func RandomPrefixes(r *rand.Rand, n int) []netip.Prefix {
	base := benchRange.Addr().As4()
	out := make([]netip.Prefix, 0, n)
	for range n {
		host := r.IntN(4)
		if r.IntN(50) == 0 {
			host = 4 + r.IntN(5)
		}
		bits := 32 - host
		o := r.IntN(1 << (32 - benchRange.Bits()))
		a := netip.AddrFrom4([4]byte{base[0], base[1] + byte(o>>16), byte(o >> 8), byte(o)})
		out = append(out, netip.PrefixFrom(a, bits).Masked())
	}
	return out
}

// DisjointHosts returns n /32 prefixes in benchRange with a gap between each
// two, so that none merge: n intervals, 2n interval elements.
func DisjointHosts(n int) []netip.Prefix {
	a := benchRange.Addr()
	out := make([]netip.Prefix, 0, n)
	for range n {
		out = append(out, netip.PrefixFrom(a, 32))
		a = a.Next().Next()
	}
	return out
}
