package nft

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Interval is the half-open address range [Start, End) of one family. End is
// the zero Addr when the range runs to the family's last address, which has
// no successor to serve as an end key.
type Interval struct {
	Start netip.Addr
	End   netip.Addr
}

// Open reports whether the interval runs to the end of the address space.
func (iv Interval) Open() bool { return !iv.End.IsValid() }

// Contains reports whether a lies in the interval.
func (iv Interval) Contains(a netip.Addr) bool {
	if a.Is4() != iv.Start.Is4() || a.Less(iv.Start) {
		return false
	}
	return iv.Open() || a.Less(iv.End)
}

// Last is the interval's last address.
func (iv Interval) Last() netip.Addr {
	if iv.Open() {
		return lastAddr(netip.PrefixFrom(iv.Start, 0))
	}
	return iv.End.Prev()
}

func (iv Interval) String() string {
	return fmt.Sprintf("%s-%s", iv.Start, iv.Last())
}

// Intervals merges prefixes of one family into sorted, disjoint intervals;
// overlapping and adjacent prefixes become one interval, as the kernel
// rejects overlapping elements. Host bits of a prefix are ignored. A list
// mixing IPv4 and IPv6 is an error wrapping errdefs.ErrInvalid: an interval
// set has one key type.
func Intervals(prefixes []netip.Prefix) ([]Interval, error) {
	if len(prefixes) == 0 {
		return nil, nil
	}
	type span struct{ first, last netip.Addr }
	spans := make([]span, 0, len(prefixes))
	for i, p := range prefixes {
		switch {
		case !p.IsValid():
			return nil, errdefs.Invalid(errdefs.Index("prefixes", i), "invalid prefix %v", p)
		case p.Addr().Is4() != prefixes[0].Addr().Is4():
			return nil, errdefs.Invalid(errdefs.Index("prefixes", i),
				"%s is not of the family of %s: an interval set holds one family", p, prefixes[0])
		}
		p = p.Masked()
		spans = append(spans, span{p.Addr(), lastAddr(p)})
	}
	slices.SortFunc(spans, func(a, b span) int { return a.first.Compare(b.first) })

	var out []Interval
	cur := spans[0]
	for _, s := range spans[1:] {
		// next is invalid when cur already reaches the end of the space.
		if next := cur.last.Next(); !next.IsValid() || s.first.Compare(next) <= 0 {
			if s.last.Compare(cur.last) > 0 {
				cur.last = s.last
			}
			continue
		}
		out = append(out, Interval{cur.first, cur.last.Next()})
		cur = s
	}
	return append(out, Interval{cur.first, cur.last.Next()}), nil
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// DiffIntervals returns the intervals of have missing from want (to delete)
// and those of want missing from have (to add), each in order. An interval
// is deleted and re-added whole when it changes: the kernel addresses an
// interval by its exact start and end elements. Queue the deletions before
// the additions in one batch so that a grown interval does not overlap its
// old self.
func DiffIntervals(have, want []Interval) (del, add []Interval) {
	in := func(ivs []Interval) map[Interval]bool {
		m := make(map[Interval]bool, len(ivs))
		for _, iv := range ivs {
			m[iv] = true
		}
		return m
	}
	h, w := in(have), in(want)
	for _, iv := range have {
		if !w[iv] {
			del = append(del, iv)
		}
	}
	for _, iv := range want {
		if !h[iv] {
			add = append(add, iv)
		}
	}
	return del, add
}
