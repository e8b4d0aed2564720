package secgroup

import (
	"net/netip"
	"testing"
)

func ival(start, end string) elem {
	return elem{key: netip.MustParseAddr(start).AsSlice(), end: netip.MustParseAddr(end).AsSlice()}
}

// A member joining next to an interval merges it into a bigger one: the set
// deletes the old element and adds the new, but nobody left.
func TestRemovedRangesOnlyWhatLeft(t *testing.T) {
	join := removedRanges([]elem{ival("10.0.0.10", "10.0.0.110")}, []elem{ival("10.0.0.10", "10.0.0.111")})
	if len(join) != 0 {
		t.Fatalf("a join removed %d ranges", len(join))
	}
	// .50 leaves the middle of [.10, .110): the set splits; only .50 is gone.
	leave := removedRanges([]elem{ival("10.0.0.10", "10.0.0.110")},
		[]elem{ival("10.0.0.10", "10.0.0.50"), ival("10.0.0.51", "10.0.0.110")})
	if len(leave) != 1 || !leave[0].contains(netip.MustParseAddr("10.0.0.50")) ||
		leave[0].contains(netip.MustParseAddr("10.0.0.49")) || leave[0].contains(netip.MustParseAddr("10.0.0.51")) {
		t.Fatalf("leave: %+v", leave)
	}
	// An open interval shrinking to a bounded one loses its tail.
	open := elem{key: netip.MustParseAddr("10.0.0.0").AsSlice(), open: true}
	tail := removedRanges([]elem{open}, []elem{ival("10.0.0.0", "10.0.1.0")})
	if len(tail) != 1 || !tail[0].open || !tail[0].contains(netip.MustParseAddr("10.0.1.0")) || tail[0].contains(netip.MustParseAddr("10.0.0.255")) {
		t.Fatalf("open tail: %+v", tail)
	}
}
