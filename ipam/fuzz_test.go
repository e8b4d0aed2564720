package ipam

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Ranges arrive from documents (allocation_pools); whatever they hold,
// Validate must not panic, and what it accepts must behave as a range.
func FuzzRangeJSON(f *testing.F) {
	f.Add([]byte(`{"start":"10.0.0.2","end":"10.0.0.254"}`))
	f.Add([]byte(`{"start":"2001:db8::1","end":"2001:db8::ffff:ffff:ffff:ffff"}`))
	f.Add([]byte(`{"start":"10.0.0.9","end":"10.0.0.1"}`))
	f.Add([]byte(`{"start":"fe80::1%eth0","end":"fe80::2"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var r Range
		if json.Unmarshal(doc, &r) != nil {
			return
		}
		if err := r.Validate(); err != nil {
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("%v does not wrap ErrInvalid", err)
			}
			return
		}
		if r.Size().Sign() <= 0 || !r.Contains(r.Start) || !r.Contains(r.End) || !r.Overlaps(r) {
			t.Fatalf("valid %s does not behave as a range", r)
		}
	})
}

// Subnet pools arrive from documents too; a valid one must carve only
// aligned, free prefixes inside itself, and say exhausted only when no
// aligned block is free.
func FuzzSubnetPoolCarve(f *testing.F) {
	f.Add([]byte(`{"id":"p","prefixes":["10.0.0.0/24"],"min_prefixlen":"24","max_prefixlen":28}`), []byte{0, 25, 128, 26}, uint8(26))
	f.Add([]byte(`{"id":"p","prefixes":["10.0.0.0/26","10.0.1.0/25"]}`), []byte{0, 26}, uint8(27))
	f.Add([]byte(`{"id":"p","prefixes":["2001:db8::/60"]}`), []byte{}, uint8(64))
	f.Fuzz(func(t *testing.T, doc []byte, alloc []byte, prefixLen uint8) {
		var p SubnetPool
		if json.Unmarshal(doc, &p) != nil || p.Validate() != nil {
			return
		}
		// Allocations as (offset byte, length) pairs inside the first prefix.
		base := p.Prefixes[0]
		var allocated []netip.Prefix
		for i := 0; i+1 < len(alloc); i += 2 {
			a := u128From(base.Addr())
			a, _ = a.add(u128{lo: uint64(alloc[i])})
			if pfx, err := a.addr(base.Addr()).Prefix(int(alloc[i+1]) % (base.Addr().BitLen() + 1)); err == nil {
				allocated = append(allocated, pfx)
			}
		}
		got, err := p.Carve(allocated, int(prefixLen))
		minLen, defaultLen, maxLen := p.PrefixLens()
		want := int(prefixLen)
		if want == 0 {
			want = defaultLen
		}
		switch {
		case err == nil:
			if got.Bits() != want || got != got.Masked() {
				t.Fatalf("carved %s for /%d", got, prefixLen)
			}
			if !p.holds(got) {
				t.Fatalf("carved %s outside %v", got, p.Prefixes)
			}
			if slices.ContainsFunc(allocated, got.Overlaps) {
				t.Fatalf("carved %s overlapping %v", got, allocated)
			}
		case errors.Is(err, errdefs.ErrExhausted):
			if free := firstFreeBlock(p.Prefixes, allocated, want); free.IsValid() {
				t.Fatalf("exhausted, but %s is free (allocated %v)", free, allocated)
			}
		case errors.Is(err, errdefs.ErrInvalid):
			if want >= minLen && want <= maxLen {
				t.Fatalf("/%d within /%d-/%d refused: %v", prefixLen, minLen, maxLen, err)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// firstFreeBlock tries every aligned block of the small IPv4 prefixes; it
// gives up (the zero Prefix) on anything too large to enumerate.
func firstFreeBlock(pool, allocated []netip.Prefix, prefixLen int) netip.Prefix {
	for _, p := range pool {
		if p.Bits() > prefixLen || prefixLen-p.Bits() > 12 {
			continue
		}
		for i := range 1 << (prefixLen - p.Bits()) {
			off := u128{lo: uint64(i)}.shl(uint(p.Addr().BitLen() - prefixLen))
			a, _ := u128From(p.Addr()).add(off)
			b := netip.PrefixFrom(a.addr(p.Addr()), prefixLen)
			if !slices.ContainsFunc(allocated, b.Overlaps) {
				return b
			}
		}
	}
	return netip.Prefix{}
}
