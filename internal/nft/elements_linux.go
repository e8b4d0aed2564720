package nft

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// IntervalElements returns the elements of an interval set holding ivs (as
// returned by Intervals: sorted and disjoint), in ascending order as the nft
// CLI sends them: a start key, then an end key flagged IntervalEnd; an open
// interval is a lone start key flagged IntervalOpen.
func IntervalElements(ivs []Interval) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, 2*len(ivs))
	for _, iv := range ivs {
		if iv.Open() {
			out = append(out, nftables.SetElement{Key: iv.Start.AsSlice(), IntervalOpen: true})
			continue
		}
		out = append(out,
			nftables.SetElement{Key: iv.Start.AsSlice()},
			nftables.SetElement{Key: iv.End.AsSlice(), IntervalEnd: true})
	}
	return out
}

// AddrElements returns the elements of a plain (non-interval) address set
// holding addrs, sorted and without duplicates, so that the stored count
// equals len of the result.
func AddrElements(addrs []netip.Addr) []nftables.SetElement {
	sorted := slices.Clone(addrs)
	slices.SortFunc(sorted, netip.Addr.Compare)
	sorted = slices.Compact(sorted)
	out := make([]nftables.SetElement, 0, len(sorted))
	for _, a := range sorted {
		out = append(out, nftables.SetElement{Key: a.AsSlice()})
	}
	return out
}

// ElementIntervals rebuilds the intervals an interval set holds from its
// elements as GetSetElements returns them (in no reliable order, see
// google/nftables#320). An end element with no start before it is the
// zero-address sentinel the nft CLI adds, and is skipped.
func ElementIntervals(elems []nftables.SetElement) ([]Interval, error) {
	type bound struct {
		addr      netip.Addr
		end, open bool
	}
	bounds := make([]bound, 0, len(elems))
	for i, e := range elems {
		a, ok := netip.AddrFromSlice(e.Key)
		if !ok {
			return nil, errdefs.Invalid(errdefs.Index("elements", i), "key %x is not an address", e.Key)
		}
		bounds = append(bounds, bound{a, e.IntervalEnd, e.IntervalOpen})
	}
	// On equal keys the end of one interval sorts before the start of the
	// next, which nft writes for adjacent ranges it was told not to merge.
	slices.SortFunc(bounds, func(a, b bound) int {
		if c := a.addr.Compare(b.addr); c != 0 {
			return c
		}
		switch {
		case a.end == b.end:
			return 0
		case a.end:
			return -1
		}
		return 1
	})
	var (
		out     []Interval
		start   netip.Addr
		pending bool
	)
	for _, b := range bounds {
		switch {
		case b.end && pending:
			out = append(out, Interval{Start: start, End: b.addr})
			pending = false
		case b.end: // nft's sentinel at address zero
		case pending:
			return nil, fmt.Errorf("%w: interval starting at %s has no end before %s", errdefs.ErrInvalid, start, b.addr)
		case b.open:
			out = append(out, Interval{Start: b.addr})
		default:
			start, pending = b.addr, true
		}
	}
	if pending {
		return nil, fmt.Errorf("%w: interval starting at %s has no end", errdefs.ErrInvalid, start)
	}
	return out, nil
}
