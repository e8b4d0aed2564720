package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/stretchr/testify/require"
)

func TestDefaultGatewayFollowsNeutron(t *testing.T) {
	for _, tc := range []struct{ cidr, want string }{
		{"10.0.0.0/24", "10.0.0.1"},
		{"10.0.0.0/30", "10.0.0.1"},
		{"10.0.0.0/31", "10.0.0.1"},
		{"10.0.0.7/32", ""},
		{"2001:db8::/64", "2001:db8::"},
		{"2001:db8::/127", "2001:db8::"},
		{"2001:db8::1/128", ""},
		{"192.168.0.0/16", "192.168.0.1"},
	} {
		t.Run(tc.cidr, func(t *testing.T) {
			got := DefaultGateway(netip.MustParsePrefix(tc.cidr))
			require.Equal(t, tc.want, addrString(got))
		})
	}
	require.False(t, DefaultGateway(netip.Prefix{}).IsValid())
}

func TestDefaultPoolGatewayIsNetworkPlusOneInBothFamilies(t *testing.T) {
	require.Equal(t, "10.0.0.1", DefaultPoolGateway(netip.MustParsePrefix("10.0.0.0/24")).String())
	require.Equal(t, "2001:db8::1", DefaultPoolGateway(netip.MustParsePrefix("2001:db8::/64")).String())
	require.False(t, DefaultPoolGateway(netip.MustParsePrefix("10.0.0.1/32")).IsValid())
}

func TestDefaultPoolsFollowGeneratePools(t *testing.T) {
	for _, tc := range []struct {
		cidr, gateway string
		want          string
	}{
		{"10.0.0.0/24", "10.0.0.1", "[10.0.0.2-10.0.0.254]"},
		{"10.0.0.0/24", "", "[10.0.0.1-10.0.0.254]"},
		{"10.0.0.0/24", "10.0.0.100", "[10.0.0.1-10.0.0.99 10.0.0.101-10.0.0.254]"},
		{"10.0.0.0/24", "10.0.0.254", "[10.0.0.1-10.0.0.253]"},
		{"10.0.0.0/24", "10.0.1.1", "[10.0.0.1-10.0.0.254]"}, // gateway outside the subnet
		{"10.0.0.0/30", "10.0.0.1", "[10.0.0.2-10.0.0.2]"},
		{"10.0.0.0/31", "10.0.0.1", "[10.0.0.0-10.0.0.0]"},
		{"10.0.0.0/31", "", "[10.0.0.0-10.0.0.1]"},
		{"10.0.0.7/32", "", "[10.0.0.7-10.0.0.7]"},
		{"10.0.0.7/32", "10.0.0.7", "[10.0.0.7-10.0.0.7]"}, // a single address is kept
		{"2001:db8::/64", "2001:db8::", "[2001:db8::1-2001:db8::ffff:ffff:ffff:ffff]"},
		{"2001:db8::/64", "2001:db8::1", "[2001:db8::2-2001:db8::ffff:ffff:ffff:ffff]"},
		{"2001:db8::/127", "2001:db8::", "[2001:db8::1-2001:db8::1]"},
		{"2001:db8::/127", "2001:db8::1", "[]"},
		{"2001:db8::1/128", "", "[2001:db8::1-2001:db8::1]"},
	} {
		t.Run(tc.cidr+"_gw_"+tc.gateway, func(t *testing.T) {
			cidr := netip.MustParsePrefix(tc.cidr)
			var gw netip.Addr
			if tc.gateway != "" {
				gw = netip.MustParseAddr(tc.gateway)
			}
			pools := DefaultPools(cidr, gw)
			require.Equal(t, tc.want, fmt.Sprint(pools))
			// What the defaults produce must pass the validation the
			// subnet applies, unless the gateway sits in the lone address.
			if !cidr.IsSingleIP() || gw != cidr.Addr() {
				require.NoError(t, ValidatePools(cidr, gw, pools))
			}
		})
	}
	require.Nil(t, DefaultPools(netip.Prefix{}, netip.Addr{}))
}

func TestDefaultPoolsOfDefaultGatewayNeverHoldTheGateway(t *testing.T) {
	for _, s := range []string{"10.0.0.0/8", "10.0.0.0/24", "10.0.0.0/30", "10.0.0.0/31", "2001:db8::/64", "2001:db8::/126", "2001:db8::/127"} {
		cidr := netip.MustParsePrefix(s)
		gw := DefaultGateway(cidr)
		for _, p := range DefaultPools(cidr, gw) {
			require.False(t, p.Contains(gw), "%s: pool %s holds gateway %s", s, p, gw)
		}
	}
}

func TestValidatePoolsReportsEveryProblemWithItsPath(t *testing.T) {
	cidr := netip.MustParsePrefix("10.0.0.0/24")
	pools := []Range{
		rng("10.0.0.10", "10.0.0.20"),
		rng("10.0.0.15", "10.0.0.30"),     // overlaps [0]
		rng("10.0.0.0", "10.0.0.5"),       // network address
		rng("2001:db8::1", "2001:db8::2"), // other family
		{Start: netip.MustParseAddr("10.0.0.50")},
		rng("10.0.0.40", "10.0.0.35"),
	}
	err := ValidatePools(cidr, netip.MustParseAddr("10.0.0.12"), pools)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	require.ErrorIs(t, err, errdefs.ErrConflict)
	for _, want := range []string{
		"allocation_pools[1]: 10.0.0.15-10.0.0.30 overlaps allocation_pools[0] 10.0.0.10-10.0.0.20",
		"allocation_pools[2]: 10.0.0.0-10.0.0.5 is outside 10.0.0.1-10.0.0.254, the usable addresses of 10.0.0.0/24",
		"allocation_pools[3]: 2001:db8::1-2001:db8::2 is not of the family of cidr 10.0.0.0/24",
		"allocation_pools[4].end: an IP address is required",
		"allocation_pools[5].end: 10.0.0.35 comes before start 10.0.0.40",
		"gateway_ip: 10.0.0.12 is inside allocation_pools[0] 10.0.0.10-10.0.0.20",
	} {
		require.Contains(t, err.Error(), want)
	}
}

func TestValidatePoolsFindsOverlapBehindANestedPool(t *testing.T) {
	// [0] reaches past [1], so [2] overlaps [0] although not [1].
	err := ValidatePools(netip.MustParsePrefix("10.0.0.0/24"), netip.Addr{}, []Range{
		rng("10.0.0.1", "10.0.0.100"), rng("10.0.0.10", "10.0.0.20"), rng("10.0.0.50", "10.0.0.60"),
	})
	require.ErrorContains(t, err, "allocation_pools[1]: 10.0.0.10-10.0.0.20 overlaps allocation_pools[0]")
	require.ErrorContains(t, err, "allocation_pools[2]: 10.0.0.50-10.0.0.60 overlaps allocation_pools[0]")
}

func TestValidatePoolsNeedsACIDR(t *testing.T) {
	err := ValidatePools(netip.Prefix{}, netip.Addr{}, nil)
	var fe *errdefs.FieldError
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "cidr", fe.Path)
}

func rng(start, end string) Range {
	return Range{netip.MustParseAddr(start), netip.MustParseAddr(end)}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
