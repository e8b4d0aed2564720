package ipam

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// AddressScope is a Neutron address scope: a set of subnet pools whose
// addresses are routed to each other without NAT, and so may be announced by
// BGP. Its members are the subnet pools naming it in address_scope_id.
type AddressScope struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	IPVersion int    `json:"ip_version"`
	ProjectID string `json:"project_id,omitempty"`
}

// Validate checks the scope. Paths are relative to it.
func (s *AddressScope) Validate() error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "an ID is required"))
	}
	if s.IPVersion != 4 && s.IPVersion != 6 {
		errs = append(errs, errdefs.Invalid("ip_version", "%d is neither 4 nor 6", s.IPVersion))
	}
	return errors.Join(errs...)
}

// SameScope reports whether subnets allocated from pools a and b are in one
// address scope: both pools name the same scope and are of one IP version.
// A subnet without a pool (nil), or from a pool without a scope, is in no
// scope and shares it with nothing, which is how neutron-dynamic-routing
// decides that such a subnet is never announced behind a BGP speaker's
// router, and how the L3 agent decides that traffic needs NAT.
func SameScope(a, b *SubnetPool) bool {
	return a != nil && b != nil && a.AddressScopeID != "" &&
		a.AddressScopeID == b.AddressScopeID && a.Version() == b.Version()
}

// ValidateAddressScopes checks what ties pools to scopes, with paths in the
// desired-state document ("subnetpools[2].prefixes[0]"): each
// address_scope_id names a scope (ErrNotFound) of the pool's IP version
// (ErrInvalid), and the prefixes of the pools in one scope do not overlap
// (ErrConflict), because a scope is one routing domain. Each object's own
// Validate is not repeated.
func ValidateAddressScopes(scopes []AddressScope, pools []SubnetPool) error {
	version := make(map[string]int, len(scopes))
	for _, s := range scopes {
		version[s.ID] = s.IPVersion
	}
	var errs []error
	type member struct{ pool, prefix int }
	var members []member
	var prefixes []netip.Prefix
	byScope := make(map[string][]int) // scope ID → indexes into members and prefixes
	for i := range pools {
		p := &pools[i]
		if p.AddressScopeID == "" {
			continue
		}
		path := fmt.Sprintf("subnetpools[%d].address_scope_id", i)
		v, ok := version[p.AddressScopeID]
		switch {
		case !ok:
			errs = append(errs, errdefs.NotFound(path, "address scope %s does not exist", p.AddressScopeID))
			continue
		case v != p.Version():
			errs = append(errs, errdefs.Invalid(path, "address scope %s is IPv%d, the pool IPv%d", p.AddressScopeID, v, p.Version()))
			continue
		}
		for j, pfx := range p.Prefixes {
			if pfx.IsValid() {
				byScope[p.AddressScopeID] = append(byScope[p.AddressScopeID], len(prefixes))
				members = append(members, member{i, j})
				prefixes = append(prefixes, pfx.Masked())
			}
		}
	}
	for _, scope := range slices.Sorted(maps.Keys(byScope)) {
		overlaps(prefixes, byScope[scope], func(k, l int) {
			if members[k].pool == members[l].pool {
				return // the pool's own Validate reports it
			}
			errs = append(errs, errdefs.Conflict(fmt.Sprintf("subnetpools[%d].prefixes[%d]", members[k].pool, members[k].prefix),
				"%s overlaps subnetpools[%d].prefixes[%d] %s in address scope %s",
				prefixes[k], members[l].pool, members[l].prefix, prefixes[l], scope))
		})
	}
	return errors.Join(errs...)
}

// Scopes resolves subnets to their address scopes through their subnet
// pools, the one place where Neutron's subnet -> subnetpool ->
// address_scope_id chain is followed: BGP advertisement and the router's
// no-NAT routing must agree on it. The zero value resolves nothing.
type Scopes struct {
	pools  map[string]*SubnetPool
	scopes map[string]*AddressScope
}

// NewScopes indexes pools and scopes; the slices must outlive the result.
func NewScopes(pools []SubnetPool, scopes []AddressScope) *Scopes {
	s := &Scopes{pools: make(map[string]*SubnetPool, len(pools)), scopes: make(map[string]*AddressScope, len(scopes))}
	for i := range pools {
		s.pools[pools[i].ID] = &pools[i]
	}
	for i := range scopes {
		s.scopes[scopes[i].ID] = &scopes[i]
	}
	return s
}

// Pool returns the pool with the ID, if indexed.
func (s *Scopes) Pool(id string) (*SubnetPool, bool) {
	p, ok := s.pools[id]
	return p, ok
}

// Of returns the address scope of a subnet with prefix cidr allocated from
// pool poolID, or "" when it is in none: no pool, a pool without a scope, a
// scope that is not listed (as Neutron's join on the address_scopes table
// finds nothing), or a scope of the other IP version.
func (s *Scopes) Of(poolID string, cidr netip.Prefix) string {
	if s == nil || poolID == "" {
		return ""
	}
	p, ok := s.pools[poolID]
	if !ok || p.AddressScopeID == "" {
		return ""
	}
	sc, ok := s.scopes[p.AddressScopeID]
	if !ok || sc.IPVersion != versionOf(cidr.Addr()) {
		return ""
	}
	return sc.ID
}

func versionOf(a netip.Addr) int {
	if a.Unmap().Is4() {
		return 4
	}
	return 6
}
