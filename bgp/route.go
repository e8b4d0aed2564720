package bgp

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Route is one advertised route: a prefix and the next hop peers should use
// for it. The JSON names are those of Neutron's get_advertised_routes.
type Route struct {
	Prefix  netip.Prefix `json:"destination"`
	NextHop netip.Addr   `json:"next_hop"`
}

func (r Route) String() string { return r.Prefix.String() + " via " + r.NextHop.String() }

// Compare orders routes by prefix address, then length, then next hop:
// IPv4 before IPv6.
func (r Route) Compare(o Route) int {
	// Not cmp.Or: it would evaluate every comparison, and sorting 10k
	// routes is on the path of every Apply.
	if c := r.Prefix.Addr().Compare(o.Prefix.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(r.Prefix.Bits(), o.Prefix.Bits()); c != 0 {
		return c
	}
	return r.NextHop.Compare(o.NextHop)
}

// SortRoutes sorts routes in place in Compare order.
func SortRoutes(routes []Route) { slices.SortFunc(routes, Route.Compare) }

// validateRoutes checks that routes can be announced as they are: masked
// prefixes, a next hop of the prefix's family, one next hop per prefix.
// It returns the routes keyed by prefix.
func validateRoutes(routes []Route) (map[netip.Prefix]netip.Addr, error) {
	out := make(map[netip.Prefix]netip.Addr, len(routes))
	var errs []error
	for i, r := range routes {
		path := func() string { return errdefs.Index("routes", i) } // only on error: this loop runs over every route
		switch {
		case !r.Prefix.IsValid():
			errs = append(errs, errdefs.Invalid(path()+".destination", "missing prefix"))
			continue
		case r.Prefix.Masked() != r.Prefix:
			errs = append(errs, errdefs.Invalid(path()+".destination", "%s has host bits set", r.Prefix))
			continue
		case !r.NextHop.IsValid():
			errs = append(errs, errdefs.Invalid(path()+".next_hop", "missing next hop for %s", r.Prefix))
			continue
		case r.NextHop.Is4() != r.Prefix.Addr().Is4() || r.NextHop.Is4In6() || r.Prefix.Addr().Is4In6():
			errs = append(errs, errdefs.Invalid(path()+".next_hop", "%s is not of the family of %s", r.NextHop, r.Prefix))
			continue
		}
		if nh, dup := out[r.Prefix]; dup && nh != r.NextHop {
			errs = append(errs, errdefs.Conflict(path(), "%s has two next hops, %s and %s", r.Prefix, nh, r.NextHop))
			continue
		}
		out[r.Prefix] = r.NextHop
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bgp routes: %w", joinErrs(errs))
	}
	return out, nil
}
