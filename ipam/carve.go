package ipam

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Carve returns a free prefix of length prefixLen (0: the pool's default)
// for a new subnet, given the prefixes already allocated from the pool.
//
// It chooses as Neutron's SubnetAllocator does: among the free space,
// written as the fewest CIDRs, the longest CIDR that can hold the request
// (lowest address on a tie), and the first block of it. Best fit rather than
// first fit keeps large blocks whole for large requests, and gives the
// subnets Neutron would.
//
// The error wraps ErrInvalid for a length outside the pool's bounds and
// ErrExhausted when no block of that length is free.
func (p *SubnetPool) Carve(allocated []netip.Prefix, prefixLen int) (netip.Prefix, error) {
	if err := p.Validate(); err != nil {
		return netip.Prefix{}, fmt.Errorf("ipam: subnetpool %s: %w", p.ID, err)
	}
	minLen, defaultLen, maxLen := p.PrefixLens()
	if prefixLen == 0 {
		prefixLen = defaultLen
	}
	if prefixLen < minLen || prefixLen > maxLen {
		return netip.Prefix{}, errdefs.Invalid("prefixlen", "subnetpool %s: /%d is outside its bounds /%d to /%d", p.ID, prefixLen, minLen, maxLen)
	}
	w := width(p.Version())
	need := w - prefixLen // host bits of the block
	var best u128
	bestBits := -1
	for _, free := range subtract(p.spans(), spansOf(allocated, p.Version())) {
		for lo, more := free.lo, true; more; {
			bits := min(lo.trailingZeros(), w, sizeBits(lo, free.hi))
			if bits >= need && (bestBits < 0 || bits < bestBits) {
				best, bestBits = lo, bits
			}
			lo, more = nextBlock(lo, bits, free.hi)
		}
	}
	if bestBits < 0 {
		return netip.Prefix{}, errdefs.Exhausted("prefixlen", "subnetpool %s: no free /%d left in %v", p.ID, prefixLen, p.Prefixes)
	}
	return netip.PrefixFrom(best.addr(p.Prefixes[0].Addr()), prefixLen), nil
}

// CarveSpecific checks that want can be allocated from the pool: it lies
// inside one of the pool's prefixes, its length is within the bounds, and it
// overlaps none of allocated. Paths name the subnet's "cidr". The error wraps
// ErrConflict for an overlap and ErrInvalid otherwise.
func (p *SubnetPool) CarveSpecific(allocated []netip.Prefix, want netip.Prefix) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("ipam: subnetpool %s: %w", p.ID, err)
	}
	minLen, _, maxLen := p.PrefixLens()
	switch {
	case !want.IsValid() || want != want.Masked():
		return errdefs.Invalid("cidr", "subnetpool %s: %s is not a network prefix", p.ID, want)
	case familyOf(want.Addr()) != p.Version():
		return errdefs.Invalid("cidr", "subnetpool %s: %s is not an IPv%d prefix", p.ID, want, p.Version())
	case want.Bits() < minLen || want.Bits() > maxLen:
		return errdefs.Invalid("cidr", "subnetpool %s: %s is outside its bounds /%d to /%d", p.ID, want, minLen, maxLen)
	}
	if !p.holds(want) {
		return errdefs.Invalid("cidr", "subnetpool %s: %s is not inside its prefixes %v", p.ID, want, p.Prefixes)
	}
	for _, a := range allocated {
		if a.IsValid() && a.Overlaps(want) {
			return errdefs.Conflict("cidr", "subnetpool %s: %s overlaps allocated %s", p.ID, want, a)
		}
	}
	return nil
}

// span is an inclusive range of addresses as numbers.
type span struct{ lo, hi u128 }

func prefixSpan(p netip.Prefix) span {
	lo := u128From(p.Masked().Addr())
	return span{lo, lo.or(hostMask(p.Addr().BitLen() - p.Bits()))}
}

func (p *SubnetPool) spans() []span { return spansOf(p.Prefixes, p.Version()) }

// holds reports whether want lies inside the pool. Adjacent prefixes count
// as one, as in Neutron's compacted IPSet: 10.0.0.0/25 and 10.0.0.128/25
// hold 10.0.0.0/24.
func (p *SubnetPool) holds(want netip.Prefix) bool {
	w := prefixSpan(want)
	return slices.ContainsFunc(p.spans(), func(s span) bool { return s.lo.cmp(w.lo) <= 0 && w.hi.cmp(s.hi) <= 0 })
}

// spansOf turns the valid prefixes of one family into sorted spans, with
// overlapping and adjacent ones merged.
func spansOf(prefixes []netip.Prefix, version int) []span {
	var s []span
	for _, p := range prefixes {
		if p.IsValid() && familyOf(p.Addr()) == version {
			s = append(s, prefixSpan(p))
		}
	}
	slices.SortFunc(s, func(a, b span) int { return a.lo.cmp(b.lo) })
	out := s[:0]
	for _, x := range s {
		if n := len(out); n > 0 {
			if next, ovf := out[n-1].hi.inc(); ovf || x.lo.cmp(next) <= 0 {
				if x.hi.cmp(out[n-1].hi) > 0 {
					out[n-1].hi = x.hi
				}
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// subtract returns the parts of the sorted, merged spans in that no span of
// out covers.
func subtract(in, out []span) []span {
	var free []span
	for _, s := range in {
		lo, done := s.lo, false
		for _, o := range out {
			if o.lo.cmp(s.hi) > 0 {
				break
			}
			if o.hi.cmp(lo) < 0 {
				continue
			}
			if o.lo.cmp(lo) > 0 {
				free = append(free, span{lo, o.lo.sub(u128{lo: 1})})
			}
			next, ovf := o.hi.inc()
			if ovf || next.cmp(s.hi) > 0 {
				done = true
				break
			}
			lo = next
		}
		if !done {
			free = append(free, span{lo, s.hi})
		}
	}
	return free
}

// sizeBits is the largest k with 2^k <= hi-lo+1: the biggest block that
// could fit, alignment aside.
func sizeBits(lo, hi u128) int {
	size, ovf := hi.sub(lo).inc()
	if ovf {
		return 128
	}
	return size.bitLen() - 1
}

// nextBlock steps past the block of 2^bits at lo; false when that reaches
// beyond hi.
func nextBlock(lo u128, bits int, hi u128) (u128, bool) {
	last, _ := lo.add(hostMask(bits)) // lo is aligned to the block: no carry
	if last.cmp(hi) >= 0 {
		return u128{}, false
	}
	next, _ := last.inc()
	return next, true
}
