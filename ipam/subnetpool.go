package ipam

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"strconv"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// SubnetPool is a Neutron subnet pool: prefixes that subnets are carved
// from, with bounds on their length, optionally in an address scope.
//
// A zero prefix length means "not given" and takes Neutron's default (see
// PrefixLens); Neutron's explicit min_prefixlen 0 cannot be told apart, and
// only matters for /0 subnets, which Neutron refuses anyway.
type SubnetPool struct {
	ID               string         `json:"id"`
	Name             string         `json:"name,omitempty"`
	Prefixes         []netip.Prefix `json:"prefixes"`
	AddressScopeID   string         `json:"address_scope_id,omitempty"`
	DefaultPrefixLen int            `json:"default_prefixlen,omitempty"`
	MinPrefixLen     int            `json:"min_prefixlen,omitempty"`
	MaxPrefixLen     int            `json:"max_prefixlen,omitempty"`
	// IPVersion is 4 or 6; 0 means "derive it from the prefixes", which is
	// what Neutron does.
	IPVersion int `json:"ip_version,omitempty"`
}

// UnmarshalJSON also accepts the prefix lengths as strings ("24"), the form
// the Neutron API returns them in.
func (p *SubnetPool) UnmarshalJSON(b []byte) error {
	type plain SubnetPool
	var aux struct {
		*plain
		DefaultPrefixLen json.RawMessage `json:"default_prefixlen"`
		MinPrefixLen     json.RawMessage `json:"min_prefixlen"`
		MaxPrefixLen     json.RawMessage `json:"max_prefixlen"`
	}
	aux.plain = (*plain)(p)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *int
	}{
		{"default_prefixlen", aux.DefaultPrefixLen, &p.DefaultPrefixLen},
		{"min_prefixlen", aux.MinPrefixLen, &p.MinPrefixLen},
		{"max_prefixlen", aux.MaxPrefixLen, &p.MaxPrefixLen},
	} {
		if f.raw == nil || string(f.raw) == "null" {
			continue
		}
		s := string(f.raw)
		if uq, err := strconv.Unquote(s); err == nil {
			s = uq
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return errdefs.Invalid(f.name, "%s is not a prefix length", f.raw)
		}
		*f.dst = n
	}
	return nil
}

// Version is IPVersion, or when that is 0 the family of the first valid
// prefix; 0 when neither says.
func (p *SubnetPool) Version() int {
	if p.IPVersion != 0 {
		return p.IPVersion
	}
	return prefixesVersion(p.Prefixes)
}

func prefixesVersion(prefixes []netip.Prefix) int {
	for _, pfx := range prefixes {
		if pfx.IsValid() {
			return familyOf(pfx.Addr())
		}
	}
	return 0
}

// PrefixLens returns the bounds with Neutron's defaults (SubnetPoolHelper)
// for those not given: min 8 for IPv4 and 64 for IPv6, max the family's
// width, default = min.
func (p *SubnetPool) PrefixLens() (minLen, defaultLen, maxLen int) {
	minLen, defaultLen, maxLen = p.MinPrefixLen, p.DefaultPrefixLen, p.MaxPrefixLen
	if minLen == 0 {
		minLen = 8
		if p.Version() == 6 {
			minLen = 64
		}
	}
	if maxLen == 0 {
		maxLen = width(p.Version())
	}
	if defaultLen == 0 {
		defaultLen = minLen
	}
	return minLen, defaultLen, maxLen
}

// Validate checks the pool. Paths are relative to it ("prefixes[1]").
func (p *SubnetPool) Validate() error {
	var errs []error
	if p.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "an ID is required"))
	}
	if p.IPVersion != 0 && p.IPVersion != 4 && p.IPVersion != 6 {
		errs = append(errs, errdefs.Invalid("ip_version", "%d is neither 4 nor 6", p.IPVersion))
	}
	errs = append(errs, p.validatePrefixes(), p.validateLens())
	return errors.Join(errs...)
}

func (p *SubnetPool) validatePrefixes() error {
	if len(p.Prefixes) == 0 {
		return errdefs.Invalid("prefixes", "at least one prefix is required")
	}
	version := p.IPVersion
	if width(version) == 0 { // reported by Validate; hold the prefixes to the first one's family
		version = prefixesVersion(p.Prefixes)
	}
	var errs []error
	var ok []int
	for i, pfx := range p.Prefixes {
		path := errdefs.Index("prefixes", i)
		switch {
		case !pfx.IsValid():
			errs = append(errs, errdefs.Invalid(path, "a prefix is required"))
		case pfx != pfx.Masked():
			errs = append(errs, errdefs.Invalid(path, "%s has host bits set; did you mean %s?", pfx, pfx.Masked()))
		case familyOf(pfx.Addr()) != version:
			errs = append(errs, errdefs.Invalid(path, "%s is not an IPv%d prefix", pfx, version))
		default:
			ok = append(ok, i)
		}
	}
	overlaps(p.Prefixes, ok, func(i, j int) {
		errs = append(errs, errdefs.Invalid(errdefs.Index("prefixes", i),
			"%s overlaps prefixes[%d] %s", p.Prefixes[i], j, p.Prefixes[j]))
	})
	return errors.Join(errs...)
}

// validateLens is Neutron's IllegalSubnetPoolPrefixBounds check:
// 0 <= min <= default <= max <= width.
func (p *SubnetPool) validateLens() error {
	w := width(p.Version())
	if w == 0 {
		return nil // the family is unknown and already reported
	}
	minLen, defaultLen, maxLen := p.PrefixLens()
	switch {
	case minLen < 0:
		return errdefs.Invalid("min_prefixlen", "%d is negative", minLen)
	case defaultLen < minLen:
		return errdefs.Invalid("default_prefixlen", "%d is shorter than min_prefixlen %d", defaultLen, minLen)
	case maxLen < defaultLen:
		return errdefs.Invalid("max_prefixlen", "%d is shorter than default_prefixlen %d", maxLen, defaultLen)
	case maxLen > w:
		return errdefs.Invalid("max_prefixlen", "%d is longer than an IPv%d address", maxLen, p.Version())
	}
	return nil
}

func familyOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func width(version int) int {
	switch version {
	case 4:
		return 32
	case 6:
		return 128
	}
	return 0
}

// overlaps calls report(i, j) for each prefixes[i] that overlaps an earlier
// prefixes[j], looking only at the indexes in idx (which it reorders).
// Valid masked prefixes either nest or are disjoint, so sorted by address a
// prefix can only overlap the widest one still open before it.
func overlaps(prefixes []netip.Prefix, idx []int, report func(i, j int)) {
	slices.SortFunc(idx, func(a, b int) int { return comparePrefixes(prefixes[a], prefixes[b]) })
	open := -1
	for _, i := range idx {
		if open >= 0 && prefixes[open].Overlaps(prefixes[i]) {
			report(i, open)
			continue
		}
		open = i
	}
}

// comparePrefixes orders by address, then shorter first, so a prefix comes
// right after the prefixes it nests in.
func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
