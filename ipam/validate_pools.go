package ipam

import (
	"errors"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// ValidatePools checks a subnet's allocation pools the way Neutron's
// IpamBackendMixin does, with paths relative to the subnet
// ("allocation_pools[1].end", "gateway_ip"):
//
//   - each pool is a valid Range of the family of cidr (ErrInvalid);
//   - each lies within UsableRange(cidr) (ErrInvalid, OutOfBoundsAllocationPool);
//   - no two overlap (ErrConflict, OverlappingAllocationPools);
//   - the gateway, when there is one, is in no pool (ErrConflict,
//     GatewayConflictWithAllocationPools).
//
// All problems are reported, joined.
func ValidatePools(cidr netip.Prefix, gateway netip.Addr, pools []Range) error {
	if !cidr.IsValid() {
		return errdefs.Invalid("cidr", "a CIDR is required")
	}
	usable := UsableRange(cidr)
	var errs []error
	var ok []int // indexes of the pools worth checking for overlap
	for i, p := range pools {
		path := errdefs.Index("allocation_pools", i)
		if err := p.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		switch {
		case p.Start.BitLen() != cidr.Addr().BitLen():
			errs = append(errs, errdefs.Invalid(path, "%s is not of the family of cidr %s", p, cidr))
		case !usable.Contains(p.Start) || !usable.Contains(p.End):
			errs = append(errs, errdefs.Invalid(path, "%s is outside %s, the usable addresses of %s", p, usable, cidr))
		default:
			ok = append(ok, i)
		}
	}
	// Sorted by start, a pool can only overlap the one that reaches furthest
	// among those before it, so one pass suffices.
	slices.SortFunc(ok, func(a, b int) int { return pools[a].Start.Compare(pools[b].Start) })
	furthest := -1
	for _, i := range ok {
		if furthest >= 0 && pools[furthest].Overlaps(pools[i]) {
			errs = append(errs, errdefs.Conflict(errdefs.Index("allocation_pools", i),
				"%s overlaps allocation_pools[%d] %s", pools[i], furthest, pools[furthest]))
		}
		if furthest < 0 || pools[furthest].End.Less(pools[i].End) {
			furthest = i
		}
	}
	if gateway.IsValid() {
		for i, p := range pools {
			if p.Contains(gateway) {
				errs = append(errs, errdefs.Conflict("gateway_ip", "%s is inside allocation_pools[%d] %s", gateway, i, p))
			}
		}
	}
	return errors.Join(errs...)
}
