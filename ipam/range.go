package ipam

import (
	"errors"
	"math/big"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Range is an inclusive span of addresses of one family: a Neutron allocation
// pool, {"start": "10.0.0.2", "end": "10.0.0.254"}.
type Range struct {
	Start netip.Addr `json:"start"`
	End   netip.Addr `json:"end"`
}

// Validate checks that both ends are addresses of one family, without a zone,
// in order. Paths are relative to the range ("start", "end").
func (r Range) Validate() error {
	var errs []error
	for _, f := range []struct {
		path string
		a    netip.Addr
	}{{"start", r.Start}, {"end", r.End}} {
		switch {
		case !f.a.IsValid():
			errs = append(errs, errdefs.Invalid(f.path, "an IP address is required"))
		case f.a.Zone() != "":
			errs = append(errs, errdefs.Invalid(f.path, "%s: a pool address cannot carry a zone", f.a))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if r.Start.BitLen() != r.End.BitLen() {
		return errdefs.Invalid("end", "%s is not of the family of start %s", r.End, r.Start)
	}
	if r.End.Less(r.Start) {
		return errdefs.Invalid("end", "%s comes before start %s", r.End, r.Start)
	}
	return nil
}

// valid is Validate without the error text, for the hot paths.
func (r Range) valid() bool {
	return r.Start.IsValid() && r.Start.BitLen() == r.End.BitLen() && !r.End.Less(r.Start)
}

// Contains reports whether a lies in r. Addresses of the other family, and
// anything at all for an invalid range, are outside.
func (r Range) Contains(a netip.Addr) bool {
	return r.valid() && a.BitLen() == r.Start.BitLen() &&
		!a.WithZone("").Less(r.Start) && !r.End.Less(a.WithZone(""))
}

// Overlaps reports whether r and o share at least one address.
func (r Range) Overlaps(o Range) bool {
	return r.valid() && o.valid() && r.Start.BitLen() == o.Start.BitLen() &&
		!r.End.Less(o.Start) && !o.End.Less(r.Start)
}

// Size is the exact number of addresses in r, 0 for an invalid range. It is a
// *big.Int because an IPv6 pool routinely holds 2^64 addresses, one more than a
// uint64 can count; nothing on an allocation path calls it.
func (r Range) Size() *big.Int {
	if !r.valid() {
		return new(big.Int)
	}
	s := r.span().big()
	return s.Add(s, big.NewInt(1))
}

// span is End-Start: the largest offset in r, which fits 128 bits even when
// the size (span+1) would not.
func (r Range) span() u128 { return u128From(r.End).sub(u128From(r.Start)) }

// String writes "start-end", short enough for error messages.
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }
