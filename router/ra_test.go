package router

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/ra"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// iface returns the compiled interface whose name starts with prefix.
func iface(t *testing.T, b *docBuilder, prefix string) *ifaceSpec {
	t.Helper()
	specs, err := b.d.compile()
	require.NoError(t, err)
	require.Len(t, specs, 1)
	for _, i := range specs[0].Ifaces {
		if strings.HasPrefix(i.Name, prefix) {
			return i
		}
	}
	t.Fatalf("no interface %s*", prefix)
	return nil
}

func setModes(s *subnet.Subnet, ra, addr string) { s.IPv6RAMode, s.IPv6AddressMode = ra, addr }

func TestRAOneLinkPerInterfaceWithEverySubnetThatHasARAMode(t *testing.T) {
	b := &docBuilder{}
	netID, s1 := b.network("2001:db8:1::/64", "2001:db8:1::1", false)
	s2 := b.addSubnet(netID, "2001:db8:2::/64", "2001:db8:2::1")
	s3 := b.addSubnet(netID, "2001:db8:3::/64", "2001:db8:3::1")
	s4 := b.addSubnet(netID, "100.64.9.0/24", "100.64.9.1")
	setModes(b.subnet(s1), subnet.ModeSLAAC, subnet.ModeSLAAC)
	b.subnet(s1).DNSNameservers = []netip.Addr{netip.MustParseAddr("2001:db8::53")}
	b.subnet(s1).DNSDomain = "example.test."
	setModes(b.subnet(s2), subnet.ModeDHCPv6Stateful, subnet.ModeDHCPv6Stateful)
	setModes(b.subnet(s3), "", subnet.ModeSLAAC) // an external router advertises
	r := b.router("", "", "")
	p := b.port(r, port.OwnerRouterInterface, netID, fixed(s2, "2001:db8:2::1"), fixed(s1, "2001:db8:1::1"), fixed(s3, "2001:db8:3::1"), fixed(s4, "100.64.9.1"))

	l := iface(t, b, "qr-").RA
	require.NotNil(t, l)
	require.Equal(t, []ra.Prefix{
		{CIDR: netip.MustParsePrefix("2001:db8:1::/64"), Mode: ra.SLAAC, DNS: []netip.Addr{netip.MustParseAddr("2001:db8::53")}},
		{CIDR: netip.MustParsePrefix("2001:db8:2::/64"), Mode: ra.DHCPv6Stateful},
	}, l.Prefixes)
	require.Equal(t, "example.test", l.Domain)
	require.Equal(t, 1450, l.MTU)
	require.Equal(t, p.MACAddress.HardwareAddr(), l.MAC)
	require.True(t, l.Source.IsLinkLocalUnicast())
	require.NoError(t, l.Validate())
}

func TestRANoneForAddressModeOnlyDownPortsAndGateways(t *testing.T) {
	b := &docBuilder{}
	ext, extSub := b.network("2001:db8:ff::/64", "2001:db8:ff::1", true)
	setModes(b.subnet(extSub), subnet.ModeSLAAC, subnet.ModeSLAAC)
	netID, s := b.network("2001:db8:1::/64", "2001:db8:1::1", false)
	setModes(b.subnet(s), "", subnet.ModeDHCPv6Stateful)
	r := b.router(ext, extSub, "2001:db8:ff::10")
	b.attach(r, s)
	require.Nil(t, iface(t, b, "qr-").RA, "ipv6_address_mode alone: an external router advertises")
	require.Nil(t, iface(t, b, "qg-").RA, "gateways never advertise")

	setModes(b.subnet(s), subnet.ModeSLAAC, subnet.ModeSLAAC)
	require.NotNil(t, iface(t, b, "qr-").RA)
	down := false
	for i := range b.d.Ports {
		if b.d.Ports[i].NetworkID == netID {
			b.d.Ports[i].AdminStateUp = &down
		}
	}
	require.Nil(t, iface(t, b, "qr-").RA, "a port that is down")
}

func TestGatewayAcceptRA(t *testing.T) {
	b := &docBuilder{}
	ext, extSub := b.network("2001:db8:ff::/64", "", true)
	b.router(ext, extSub, "2001:db8:ff::10")
	require.Equal(t, "2", iface(t, b, "qg-").AcceptRA, "no IPv6 gateway: learn it from upstream RAs")

	b.subnet(extSub).GatewayIP, b.subnet(extSub).NoGateway = netip.MustParseAddr("2001:db8:ff::1"), false
	require.Equal(t, "0", iface(t, b, "qg-").AcceptRA, "static default route")

	b4, _, _ := basicDoc()
	require.Empty(t, iface(t, b4, "qg-").AcceptRA, "IPv4-only gateway: left alone")
	require.Empty(t, iface(t, b4, "qr-").AcceptRA)
}
