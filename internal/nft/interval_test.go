package nft

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func iv(start, end string) Interval {
	i := Interval{Start: netip.MustParseAddr(start)}
	if end != "" {
		i.End = netip.MustParseAddr(end)
	}
	return i
}

func TestIntervalsMergesOverlappingAndAdjacent(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []Interval
	}{
		{"empty", nil, nil},
		{"one host", []string{"192.0.2.7/32"}, []Interval{iv("192.0.2.7", "192.0.2.8")}},
		{"host bits ignored", []string{"192.0.2.7/24"}, []Interval{iv("192.0.2.0", "192.0.3.0")}},
		{"adjacent halves", []string{"192.0.2.128/25", "192.0.2.0/25"}, []Interval{iv("192.0.2.0", "192.0.3.0")}},
		{"contained", []string{"198.18.0.0/15", "198.18.4.0/24", "198.19.255.255/32"}, []Interval{iv("198.18.0.0", "198.20.0.0")}},
		{"duplicates", []string{"192.0.2.0/24", "192.0.2.0/24"}, []Interval{iv("192.0.2.0", "192.0.3.0")}},
		{"disjoint sorted", []string{"203.0.113.0/24", "192.0.2.0/24", "198.51.100.0/24"},
			[]Interval{iv("192.0.2.0", "192.0.3.0"), iv("198.51.100.0", "198.51.101.0"), iv("203.0.113.0", "203.0.114.0")}},
		{"gap of one address", []string{"192.0.2.0/32", "192.0.2.2/32"},
			[]Interval{iv("192.0.2.0", "192.0.2.1"), iv("192.0.2.2", "192.0.2.3")}},
		{"ipv4 any", []string{"0.0.0.0/0"}, []Interval{iv("0.0.0.0", "")}},
		{"ipv4 any swallows all", []string{"192.0.2.0/24", "0.0.0.0/0", "255.255.255.255/32"}, []Interval{iv("0.0.0.0", "")}},
		{"ipv4 top", []string{"255.255.255.0/24", "10.0.0.0/8"}, []Interval{iv("10.0.0.0", "11.0.0.0"), iv("255.255.255.0", "")}},
		{"ipv4 top host adjacent", []string{"255.255.255.254/32", "255.255.255.255/32"}, []Interval{iv("255.255.255.254", "")}},
		{"ipv4 upper half", []string{"128.0.0.0/1", "0.0.0.0/1"}, []Interval{iv("0.0.0.0", "")}},
		{"ipv6 any", []string{"::/0"}, []Interval{iv("::", "")}},
		{"ipv6 doc", []string{"2001:db8::/48", "2001:db8:1::/48", "2001:db8:3::/48"},
			[]Interval{iv("2001:db8::", "2001:db8:2::"), iv("2001:db8:3::", "2001:db8:4::")}},
		{"ipv6 top", []string{"ffff::/16"}, []Interval{iv("ffff::", "")}},
		{"ipv4-mapped is ipv6", []string{"::ffff:192.0.2.0/120"}, []Interval{iv("::ffff:192.0.2.0", "::ffff:192.0.3.0")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Intervals(prefixes(t, tc.in...))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Intervals(%v)\n got %v\nwant %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestIntervalsRejectsMixedFamiliesAndInvalid(t *testing.T) {
	for _, tc := range []struct {
		in   []netip.Prefix
		path string
	}{
		{prefixes(t, "192.0.2.0/24", "2001:db8::/32"), "prefixes[1]"},
		{[]netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), {}}, "prefixes[1]"},
		{prefixes(t, "2001:db8::/32", "2001:db8::/48", "0.0.0.0/0"), "prefixes[2]"},
	} {
		_, err := Intervals(tc.in)
		var fe *errdefs.FieldError
		if !errors.Is(err, errdefs.ErrInvalid) || !errors.As(err, &fe) || fe.Path != tc.path {
			t.Errorf("Intervals(%v) = %v, want ErrInvalid at %s", tc.in, err, tc.path)
		}
	}
}

// TestIntervalsMatchesBitmap checks merging against a brute-force oracle:
// mark every address covered by 10,000 random prefixes in 198.18.0.0/15 and
// read the runs back.
func TestIntervalsMatchesBitmap(t *testing.T) {
	ps := RandomPrefixes(rand.New(rand.NewPCG(1, 2)), 10000)
	got, err := Intervals(ps)
	if err != nil {
		t.Fatal(err)
	}
	want := bitmapIntervals(ps)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d intervals, oracle %d", len(got), len(want))
	}
	t.Logf("10,000 prefixes merged into %d intervals", len(got))
	if len(got) < 100 || len(got) > 9000 {
		t.Fatalf("%d intervals from 10,000 prefixes: the input should merge but not collapse", len(got))
	}
}

func bitmapIntervals(ps []netip.Prefix) []Interval {
	base := benchRange.Addr().As4()
	off := func(a netip.Addr) int {
		b := a.As4()
		return int(b[1]-base[1])<<16 | int(b[2])<<8 | int(b[3])
	}
	addr := func(o int) netip.Addr {
		return netip.AddrFrom4([4]byte{base[0], base[1] + byte(o>>16), byte(o >> 8), byte(o)})
	}
	size := 1 << (32 - benchRange.Bits())
	covered := make([]bool, size+1)
	for _, p := range ps {
		first := off(p.Addr())
		for i := range 1 << (32 - p.Bits()) {
			covered[first+i] = true
		}
	}
	var out []Interval
	for i := 0; i < size; i++ {
		if covered[i] && (i == 0 || !covered[i-1]) {
			j := i
			for covered[j] {
				j++
			}
			out = append(out, Interval{addr(i), addr(j)})
		}
	}
	return out
}

func TestIntervalContainsAndString(t *testing.T) {
	i := iv("192.0.2.0", "192.0.3.0")
	for a, want := range map[string]bool{"192.0.1.255": false, "192.0.2.0": true, "192.0.2.255": true, "192.0.3.0": false, "::1": false} {
		if got := i.Contains(netip.MustParseAddr(a)); got != want {
			t.Errorf("%v.Contains(%s) = %v", i, a, got)
		}
	}
	if s := i.String(); s != "192.0.2.0-192.0.2.255" {
		t.Errorf("String() = %q", s)
	}
	open := iv("::", "")
	if !open.Contains(netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")) || open.Contains(netip.MustParseAddr("192.0.2.1")) {
		t.Error("::/0 contains every IPv6 address and no IPv4 one")
	}
	if s := iv("255.255.255.0", "").String(); s != "255.255.255.0-255.255.255.255" {
		t.Errorf("open String() = %q", s)
	}
}

func TestDiffIntervals(t *testing.T) {
	have := []Interval{iv("192.0.2.0", "192.0.3.0"), iv("198.51.100.0", "198.51.101.0"), iv("203.0.113.0", "")}
	want := []Interval{iv("192.0.2.0", "192.0.3.0"), iv("198.51.100.0", "198.51.102.0"), iv("203.0.113.7", "203.0.113.8")}
	del, add := DiffIntervals(have, want)
	if !slices.Equal(del, have[1:]) || !slices.Equal(add, want[1:]) {
		t.Fatalf("del %v add %v", del, add)
	}
	if del, add := DiffIntervals(want, want); del != nil || add != nil {
		t.Fatalf("same sets differ: del %v add %v", del, add)
	}
}

func TestCommentTLV(t *testing.T) {
	b := Comment("neutrino sg 1234")
	if b[0] != 0 || int(b[1]) != len("neutrino sg 1234")+1 || b[len(b)-1] != 0 {
		t.Fatalf("not a libnftnl comment TLV: %x", b)
	}
	if s, ok := ParseComment(b); !ok || s != "neutrino sg 1234" {
		t.Fatalf("ParseComment = %q, %v", s, ok)
	}
	long := string(make([]byte, MaxComment-1)) + "é" // the rune straddles the limit
	if s, _ := ParseComment(Comment(long)); len(s) != MaxComment-1 {
		t.Fatalf("long comment cut to %d bytes, want %d", len(s), MaxComment-1)
	}
}
