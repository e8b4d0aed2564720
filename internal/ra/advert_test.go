package ra

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/stretchr/testify/require"
)

var (
	testMAC = net.HardwareAddr{0xfa, 0x16, 0x3e, 0x00, 0x00, 0x01}
	testLLA = netip.MustParseAddr("fe80::f816:3eff:fe00:1")
)

func link(prefixes ...Prefix) Link {
	return Link{MAC: testMAC, Source: testLLA, MTU: 1450, Prefixes: prefixes, Domain: "openstacklocal"}
}

func pfx(cidr string, m Mode, dns ...string) Prefix {
	p := Prefix{CIDR: netip.MustParsePrefix(cidr), Mode: m}
	for _, d := range dns {
		p.DNS = append(p.DNS, netip.MustParseAddr(d))
	}
	return p
}

// options returns the RA's options of type T.
func options[T ndp.Option](ra *ndp.RouterAdvertisement) []T {
	var out []T
	for _, o := range ra.Options {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func TestFlagsAndPrefixesFollowNeutronsModes(t *testing.T) {
	for _, tc := range []struct {
		mode       Mode
		m, o, auto bool
	}{
		{SLAAC, false, false, true},
		{DHCPv6Stateful, true, false, false},
		{DHCPv6Stateless, false, true, true},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ra := Advert(link(pfx("2001:db8:1::/64", tc.mode)), DefaultTiming())
			require.Equal(t, tc.m, ra.ManagedConfiguration, "M flag")
			require.Equal(t, tc.o, ra.OtherConfiguration, "O flag")
			pi := options[*ndp.PrefixInformation](ra)
			require.Len(t, pi, 1)
			require.True(t, pi[0].OnLink)
			require.Equal(t, tc.auto, pi[0].AutonomousAddressConfiguration, "A flag")
			require.Equal(t, netip.MustParseAddr("2001:db8:1::"), pi[0].Prefix)
			require.EqualValues(t, 64, pi[0].PrefixLength)
			require.Equal(t, 86400*time.Second, pi[0].ValidLifetime)
			require.Equal(t, 14400*time.Second, pi[0].PreferredLifetime)
			require.Equal(t, 300*time.Second, ra.RouterLifetime, "3 × MaxRtrAdvInterval")
			require.EqualValues(t, 64, ra.CurrentHopLimit)
		})
	}
}

func TestSeveralSubnetsShareOneRA(t *testing.T) {
	ra := Advert(link(pfx("2001:db8:1::/64", SLAAC, "2001:db8::53"), pfx("2001:db8:2::/64", DHCPv6Stateful)), DefaultTiming())
	require.True(t, ra.ManagedConfiguration)
	pi := options[*ndp.PrefixInformation](ra)
	require.Len(t, pi, 2)
	require.True(t, pi[0].AutonomousAddressConfiguration)
	require.False(t, pi[1].AutonomousAddressConfiguration)
	_, err := ndp.MarshalMessage(ra)
	require.NoError(t, err)
}

func TestRDNSSOnlyFromSLAACSubnetsAtMostThree(t *testing.T) {
	l := link(
		pfx("2001:db8:1::/64", SLAAC, "2001:db8::1", "2001:db8::2", "2001:db8::1"),
		pfx("2001:db8:2::/64", DHCPv6Stateless, "2001:db8::99"),
		pfx("2001:db8:3::/64", SLAAC, "2001:db8::3", "2001:db8::4"),
	)
	ra := Advert(l, DefaultTiming())
	rdnss := options[*ndp.RecursiveDNSServer](ra)
	require.Len(t, rdnss, 1)
	require.Equal(t, []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), netip.MustParseAddr("2001:db8::3")}, rdnss[0].Servers)
	require.Equal(t, 300*time.Second, rdnss[0].Lifetime)
	dnssl := options[*ndp.DNSSearchList](ra)
	require.Len(t, dnssl, 1)
	require.Equal(t, []string{"openstacklocal"}, dnssl[0].DomainNames)
}

func TestNoRDNSSOrDNSSLWithoutSLAAC(t *testing.T) {
	ra := Advert(link(pfx("2001:db8:2::/64", DHCPv6Stateful, "2001:db8::99")), DefaultTiming())
	require.Empty(t, options[*ndp.RecursiveDNSServer](ra))
	require.Empty(t, options[*ndp.DNSSearchList](ra))
}

func TestMTUOnlyFromIPv6Minimum(t *testing.T) {
	l := link(pfx("2001:db8:1::/64", SLAAC))
	require.Equal(t, []*ndp.MTU{ndp.NewMTU(1450)}, options[*ndp.MTU](Advert(l, DefaultTiming())))
	l.MTU = 1279
	require.Empty(t, options[*ndp.MTU](Advert(l, DefaultTiming())))
	l.MTU = 0
	require.Empty(t, options[*ndp.MTU](Advert(l, DefaultTiming())))
}

func TestSourceLinkLayerAddressAndMetadataRoute(t *testing.T) {
	ra := Advert(link(pfx("2001:db8:1::/64", SLAAC)), DefaultTiming())
	lla := options[*ndp.LinkLayerAddress](ra)
	require.Len(t, lla, 1)
	require.Equal(t, ndp.Source, lla[0].Direction)
	require.Equal(t, testMAC, lla[0].Addr)
	ri := options[*ndp.RouteInformation](ra)
	require.Len(t, ri, 1)
	require.Equal(t, netip.MustParseAddr("fe80::a9fe:a9fe"), ri[0].Prefix)
	require.EqualValues(t, 128, ri[0].PrefixLength)
}

func TestFinalRAZeroesEveryLifetime(t *testing.T) {
	ra := Final(link(pfx("2001:db8:1::/64", SLAAC, "2001:db8::53")), DefaultTiming())
	require.Zero(t, ra.RouterLifetime)
	for _, p := range options[*ndp.PrefixInformation](ra) {
		require.Zero(t, p.ValidLifetime)
		require.Zero(t, p.PreferredLifetime)
	}
	for _, r := range options[*ndp.RecursiveDNSServer](ra) {
		require.Zero(t, r.Lifetime)
	}
	for _, r := range options[*ndp.RouteInformation](ra) {
		require.Zero(t, r.RouteLifetime)
	}
}

func TestRouterLifetimeFollowsMaxIntervalCapped(t *testing.T) {
	tm := DefaultTiming()
	tm.MaxInterval = 4 * time.Second
	require.Equal(t, 12*time.Second, tm.RouterLifetime())
	tm.MaxInterval = time.Hour
	require.Equal(t, 9000*time.Second, tm.RouterLifetime())
}

func TestTimingValidate(t *testing.T) {
	require.NoError(t, DefaultTiming().Validate())
	tm := DefaultTiming()
	tm.MinInterval = 200 * time.Second
	require.Error(t, tm.Validate())
	tm = DefaultTiming()
	tm.MaxInterval = 0
	require.Error(t, tm.Validate())
}

func TestNextIntervalWithinBounds(t *testing.T) {
	tm := DefaultTiming()
	for i := range 200 {
		d := tm.next(i % 5)
		if i%5 < tm.InitialCount {
			require.LessOrEqual(t, d, tm.InitialInterval)
		} else {
			require.GreaterOrEqual(t, d, tm.MinInterval)
			require.Less(t, d, tm.MaxInterval)
		}
	}
}

func TestLinkValidate(t *testing.T) {
	require.NoError(t, link(pfx("2001:db8:1::/64", SLAAC)).Validate())
	bad := link(pfx("10.0.0.0/24", SLAAC), pfx("2001:db8:1::/64", "magic"))
	bad.Source = netip.MustParseAddr("2001:db8::1")
	err := bad.Validate()
	require.ErrorContains(t, err, "not an IPv6 prefix")
	require.ErrorContains(t, err, `mode "magic"`)
	require.ErrorContains(t, err, "not an IPv6 link-local")
}
