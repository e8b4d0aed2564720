package ipam

import (
	"net"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/stretchr/testify/require"
)

func TestSLAACMatchesEUI64Vectors(t *testing.T) {
	for _, tc := range []struct{ prefix, mac, want string }{
		{"2001:db8::/64", "fa:16:3e:12:34:56", "2001:db8::f816:3eff:fe12:3456"},
		// The example of NEUTRON.md §6.3, from oslo's get_ipv6_addr_by_EUI64.
		{"2001:db8:1:2::/64", "fa:16:3e:dd:c1:8f", "2001:db8:1:2:f816:3eff:fedd:c18f"},
		// A universally administered MAC gets the bit set, not cleared.
		{"fe80::/64", "00:11:22:33:44:55", "fe80::211:22ff:fe33:4455"},
		// Host bits in the prefix are ignored.
		{"2001:db8::99/64", "fa:16:3e:12:34:56", "2001:db8::f816:3eff:fe12:3456"},
		// An EUI-64 hardware address is taken whole.
		{"2001:db8::/64", "00:11:22:33:44:55:66:77", "2001:db8::211:2233:4455:6677"},
	} {
		mac, err := net.ParseMAC(tc.mac)
		require.NoError(t, err)
		got, err := SLAAC(netip.MustParsePrefix(tc.prefix), mac)
		require.NoError(t, err)
		require.Equal(t, tc.want, got.String())
	}
}

func TestSLAACNeedsAnIPv6Slash64AndAMAC(t *testing.T) {
	mac, _ := net.ParseMAC("fa:16:3e:12:34:56")
	for _, p := range []string{"2001:db8::/48", "2001:db8::/80", "10.0.0.0/24"} {
		_, err := SLAAC(netip.MustParsePrefix(p), mac)
		require.ErrorIs(t, err, errdefs.ErrInvalid, p)
	}
	_, err := SLAAC(netip.MustParsePrefix("2001:db8::/64"), net.HardwareAddr{1, 2, 3})
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	_, err = SLAAC(netip.Prefix{}, mac)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
}
