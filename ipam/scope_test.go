package ipam

import (
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/stretchr/testify/require"
)

func TestAddressScopeValidate(t *testing.T) {
	require.NoError(t, (&AddressScope{ID: "s", IPVersion: 4}).Validate())
	err := (&AddressScope{IPVersion: 5}).Validate()
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	require.EqualError(t, err, "id: an ID is required\nip_version: 5 is neither 4 nor 6")
}

func TestSameScope(t *testing.T) {
	a := &SubnetPool{ID: "a", AddressScopeID: "scope-1", Prefixes: prefixes("10.0.0.0/16")}
	b := &SubnetPool{ID: "b", AddressScopeID: "scope-1", Prefixes: prefixes("10.1.0.0/16")}
	other := &SubnetPool{ID: "c", AddressScopeID: "scope-2", Prefixes: prefixes("10.2.0.0/16")}
	unscoped := &SubnetPool{ID: "d", Prefixes: prefixes("10.3.0.0/16")}
	v6 := &SubnetPool{ID: "e", AddressScopeID: "scope-1", Prefixes: prefixes("2001:db8::/48")}
	require.True(t, SameScope(a, b))
	require.True(t, SameScope(a, a))
	require.False(t, SameScope(a, other))
	require.False(t, SameScope(unscoped, unscoped), "no scope is shared with nothing")
	require.False(t, SameScope(a, nil), "a subnet without a pool is in no scope")
	require.False(t, SameScope(nil, nil))
	require.False(t, SameScope(a, v6), "a scope is of one IP version")
}

func TestValidateAddressScopes(t *testing.T) {
	scopes := []AddressScope{{ID: "s4", IPVersion: 4}, {ID: "s6", IPVersion: 6}}
	pools := []SubnetPool{
		{ID: "a", AddressScopeID: "s4", Prefixes: prefixes("10.0.0.0/16")},
		{ID: "b", AddressScopeID: "s4", Prefixes: prefixes("192.168.0.0/24", "10.0.128.0/24")},
		{ID: "c", Prefixes: prefixes("10.0.0.0/8")}, // no scope: overlap allowed
		{ID: "d", AddressScopeID: "s6", Prefixes: prefixes("10.9.0.0/16")},
		{ID: "e", AddressScopeID: "nope", Prefixes: prefixes("10.8.0.0/16")},
	}
	err := ValidateAddressScopes(scopes, pools)
	require.ErrorIs(t, err, errdefs.ErrConflict)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	require.EqualError(t, err, "subnetpools[3].address_scope_id: address scope s6 is IPv6, the pool IPv4\n"+
		"subnetpools[4].address_scope_id: address scope nope does not exist\n"+
		"subnetpools[1].prefixes[1]: 10.0.128.0/24 overlaps subnetpools[0].prefixes[0] 10.0.0.0/16 in address scope s4")
	require.NoError(t, ValidateAddressScopes(scopes, pools[:1]))
}

func TestScopesOfFollowsPoolToScopeOfTheSubnetsVersion(t *testing.T) {
	pools := []SubnetPool{
		{ID: "p4", AddressScopeID: "s4", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}},
		{ID: "p6", AddressScopeID: "s6", Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8::/48")}},
		{ID: "plain", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}},
		{ID: "ghost", AddressScopeID: "missing", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}},
		{ID: "wrongfam", AddressScopeID: "s6", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.3.0.0/16")}},
	}
	sc := NewScopes(pools, []AddressScope{{ID: "s4", IPVersion: 4}, {ID: "s6", IPVersion: 6}})
	v4, v6 := netip.MustParsePrefix("10.0.1.0/24"), netip.MustParsePrefix("2001:db8:0:1::/64")
	for _, c := range []struct {
		pool string
		cidr netip.Prefix
		want string
	}{
		{"p4", v4, "s4"}, {"p6", v6, "s6"}, {"", v4, ""}, {"plain", v4, ""},
		{"ghost", v4, ""}, {"wrongfam", v4, ""}, {"unknown", v4, ""},
	} {
		if got := sc.Of(c.pool, c.cidr); got != c.want {
			t.Errorf("Of(%q, %s) = %q, want %q", c.pool, c.cidr, got, c.want)
		}
	}
	var none *Scopes
	if got := none.Of("p4", v4); got != "" {
		t.Errorf("nil Scopes resolved %q", got)
	}
}
