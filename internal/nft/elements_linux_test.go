package nft

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/nftables"
)

func TestIntervalElementsAscendingStartThenEnd(t *testing.T) {
	ivs, err := Intervals(prefixes(t, "192.0.2.0/24", "10.0.0.0/8", "255.255.255.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	got := IntervalElements(ivs)
	want := []nftables.SetElement{
		{Key: []byte{10, 0, 0, 0}},
		{Key: []byte{11, 0, 0, 0}, IntervalEnd: true},
		{Key: []byte{192, 0, 2, 0}},
		{Key: []byte{192, 0, 3, 0}, IntervalEnd: true},
		{Key: []byte{255, 255, 255, 0}, IntervalOpen: true},
	}
	if !slices.EqualFunc(got, want, sameElement) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if e := IntervalElements([]Interval{iv("::", "")}); len(e) != 1 || len(e[0].Key) != 16 || !e[0].IntervalOpen {
		t.Fatalf("::/0 must be one open 16-byte start element: %+v", e)
	}
}

func sameElement(a, b nftables.SetElement) bool {
	return slices.Equal(a.Key, b.Key) && a.IntervalEnd == b.IntervalEnd && a.IntervalOpen == b.IntervalOpen
}

func TestAddrElementsSortedUnique(t *testing.T) {
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.9")}
	got := AddrElements(addrs)
	if len(got) != 2 || got[0].Key[3] != 1 || got[1].Key[3] != 9 || len(got[0].Key) != 4 {
		t.Fatalf("AddrElements = %+v", got)
	}
	if addrs[0] != netip.MustParseAddr("192.0.2.9") {
		t.Fatal("AddrElements reordered its input")
	}
}

// TestElementIntervalsRoundTrip reads elements back in the scrambled order
// GetSetElements may return them, with the nft CLI's zero sentinel.
func TestElementIntervalsRoundTrip(t *testing.T) {
	ivs, err := Intervals(RandomPrefixes(rand.New(rand.NewPCG(3, 4)), 2000))
	if err != nil {
		t.Fatal(err)
	}
	ivs = append(ivs, iv("255.255.255.254", ""))
	elems := append(IntervalElements(ivs), nftables.SetElement{Key: []byte{0, 0, 0, 0}, IntervalEnd: true})
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(elems), func(i, j int) { elems[i], elems[j] = elems[j], elems[i] })
	got, err := ElementIntervals(elems)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, ivs) {
		t.Fatalf("round trip lost intervals: %d -> %d", len(ivs), len(got))
	}

	// Adjacent unmerged ranges (as nft writes without auto-merge).
	adj := []nftables.SetElement{
		{Key: []byte{192, 0, 2, 128}, IntervalEnd: true}, {Key: []byte{192, 0, 2, 128}},
		{Key: []byte{192, 0, 2, 0}}, {Key: []byte{192, 0, 3, 0}, IntervalEnd: true},
	}
	got, err = ElementIntervals(adj)
	if want := []Interval{iv("192.0.2.0", "192.0.2.128"), iv("192.0.2.128", "192.0.3.0")}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("adjacent: %v %v", got, err)
	}
	if _, err := ElementIntervals([]nftables.SetElement{{Key: []byte{192, 0, 2, 0}}}); err == nil {
		t.Fatal("a start without end must be an error")
	}
}

func TestChunksKeepIntervalsWhole(t *testing.T) {
	ivs, err := Intervals(DisjointHosts(2600))
	if err != nil {
		t.Fatal(err)
	}
	// One open interval shifts the pairs so that a plain cut at ChunkSize
	// would fall between a start and its end.
	elems := append([]nftables.SetElement{{Key: []byte{0, 0, 0, 0}, IntervalOpen: true}}, IntervalElements(ivs)...)
	cs := chunks(elems)
	total := 0
	for i, c := range cs {
		if len(c) > ChunkSize || len(c) == 0 {
			t.Fatalf("chunk %d has %d elements", i, len(c))
		}
		if c[0].IntervalEnd {
			t.Fatalf("chunk %d starts with an end element", i)
		}
		total += len(c)
	}
	if total != len(elems) || len(cs) != 6 {
		t.Fatalf("%d elements in %d chunks, want %d in 6", total, len(cs), len(elems))
	}
}
