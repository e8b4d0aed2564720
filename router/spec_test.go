package router

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/port"
)

func basicDoc() (*docBuilder, string, string) {
	b := &docBuilder{}
	ext, extSub := b.network("203.0.113.0/24", "203.0.113.1", true)
	_, a := b.network("100.64.1.0/24", "100.64.1.1", false)
	r := b.router(ext, extSub, "203.0.113.10")
	b.attach(r, a)
	return b, r, ext
}

func TestCompileRouter(t *testing.T) {
	b, r, ext := basicDoc()
	b.fip(r, ext, "203.0.113.20", "100.64.1.5")
	specs, err := b.d.compile()
	require.NoError(t, err)
	require.Len(t, specs, 1)
	s := specs[0]
	assert.Equal(t, naming.RouterNamespace(r), s.Namespace)
	require.Len(t, s.Ifaces, 2)
	gw := s.Gateway
	require.NotNil(t, gw)
	assert.True(t, strings.HasPrefix(gw.Name, "qg-"))
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("203.0.113.10/24"), netip.MustParsePrefix("203.0.113.20/32")}, gw.Addrs)
	assert.Equal(t, 1450, gw.MTU)
	assert.Equal(t, []routeSpec{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: []netip.Addr{netip.MustParseAddr("203.0.113.1")}, Dev: gw.Name}}, s.Routes)
	require.NotNil(t, s.NAT)
	assert.Equal(t, netip.MustParseAddr("203.0.113.10"), s.NAT.GatewayIP)
	assert.True(t, s.NAT.SNAT)
	assert.Equal(t, map[netip.Addr]netip.Addr{netip.MustParseAddr("203.0.113.20"): netip.MustParseAddr("100.64.1.5")}, s.NAT.FIPs)
}

func TestCompileSeveralSubnetsAndExtraRoutes(t *testing.T) {
	b, r, _ := basicDoc()
	netA := b.d.Ports[1].NetworkID
	v6 := b.addSubnet(netA, "2001:db8:1::/64", "2001:db8:1::1")
	b.d.Ports[1].FixedIPs = append(b.d.Ports[1].FixedIPs, fixed(v6, "2001:db8:1::1"))
	b.routerByID(r).Routes = []Route{
		{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("100.64.1.7")},
		{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("100.64.1.6")},
		{Destination: netip.MustParsePrefix("2001:db8:9::/48"), NextHop: netip.MustParseAddr("2001:db8:1::9")},
	}
	specs, err := b.d.compile()
	require.NoError(t, err)
	s := specs[0]
	var qr *ifaceSpec
	for _, i := range s.Ifaces {
		if !i.Gateway {
			qr = i
		}
	}
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("100.64.1.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")}, qr.Addrs)
	require.Len(t, s.Routes, 3)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("100.64.1.6"), netip.MustParseAddr("100.64.1.7")}, s.Routes[1].Via, "one destination, two next hops: ECMP")
	assert.Empty(t, s.Routes[1].Dev)
}

func TestCompileRefusesBadDocuments(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(b *docBuilder, r, ext string)
		kind   error
		path   string
	}{
		"next hop off-link": {func(b *docBuilder, r, _ string) {
			b.routerByID(r).Routes = []Route{{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("192.0.2.1")}}
		}, errdefs.ErrInvalid, "routers[0].routes[0].nexthop"},
		"next hop is the router": {func(b *docBuilder, r, _ string) {
			b.routerByID(r).Routes = []Route{{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("100.64.1.1")}}
		}, errdefs.ErrInvalid, "routers[0].routes[0].nexthop"},
		"HA router": {func(b *docBuilder, r, _ string) {
			b.routerByID(r).HA = true
		}, errdefs.ErrUnsupported, "routers[0].ha"},
		"missing subnet": {func(b *docBuilder, _, _ string) {
			b.d.Ports[1].FixedIPs[0].SubnetID = "nope"
		}, errdefs.ErrNotFound, "ports[1].fixed_ips[0].subnet_id"},
		"missing network": {func(b *docBuilder, _, _ string) {
			b.d.Networks = b.d.Networks[:1]
		}, errdefs.ErrNotFound, "ports[1].network_id"},
		"no gateway port": {func(b *docBuilder, _, _ string) {
			b.d.Ports = b.d.Ports[1:]
		}, errdefs.ErrNotFound, "routers[0].external_gateway_info"},
		"fip off the router": {func(b *docBuilder, r, ext string) {
			b.fip(r, ext, "203.0.113.20", "192.0.2.5")
		}, errdefs.ErrInvalid, "floatingips[0].fixed_ip_address"},
		"fip on another network": {func(b *docBuilder, r, _ string) {
			b.fip(r, "other", "203.0.113.20", "100.64.1.5")
		}, errdefs.ErrConflict, "floatingips[0].floating_network_id"},
		"fip twice": {func(b *docBuilder, r, ext string) {
			b.fip(r, ext, "203.0.113.20", "100.64.1.5")
			b.fip(r, ext, "203.0.113.20", "100.64.1.6")
		}, errdefs.ErrConflict, "floatingips[1].floating_ip_address"},
		"fixed ip twice": {func(b *docBuilder, r, ext string) {
			b.fip(r, ext, "203.0.113.20", "100.64.1.5")
			b.fip(r, ext, "203.0.113.21", "100.64.1.5")
		}, errdefs.ErrConflict, "floatingips[1].fixed_ip_address"},
		"overlapping interfaces": {func(b *docBuilder, r, _ string) {
			_, s := b.network("100.64.1.0/25", "100.64.1.2", false)
			b.attach(r, s)
		}, errdefs.ErrConflict, "routers[0]"},
		"duplicate router": {func(b *docBuilder, r, _ string) {
			b.d.Routers = append(b.d.Routers, Router{ID: r})
		}, errdefs.ErrConflict, "routers[1].id"},
		"invalid router": {func(b *docBuilder, r, _ string) {
			b.routerByID(r).Routes = []Route{{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("2001:db8::1")}}
		}, errdefs.ErrInvalid, "routers[0].routes[0].nexthop"},
		"gateway port without gateway": {func(b *docBuilder, r, _ string) {
			b.routerByID(r).ExternalGatewayInfo = nil
		}, errdefs.ErrConflict, "ports[0].device_owner"},
	} {
		t.Run(name, func(t *testing.T) {
			b, r, ext := basicDoc()
			tc.mutate(b, r, ext)
			_, err := b.d.compile()
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.kind), "%v", err)
			var fe *errdefs.FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Contains(t, err.Error(), tc.path)
		})
	}
}

func TestCompileSkipsRoutersThatAreDown(t *testing.T) {
	b, r, _ := basicDoc()
	down := false
	b.routerByID(r).AdminStateUp = &down
	specs, err := b.d.compile()
	require.NoError(t, err)
	assert.Empty(t, specs)
}

func TestCompileIgnoresOtherPortsAndFIPs(t *testing.T) {
	b, _, ext := basicDoc()
	b.port("vm", port.OwnerComputePrefix+"nova", ext) // no fixed IPs, not a router port
	b.fip("elsewhere", ext, "203.0.113.30", "10.9.9.9")
	b.d.FloatingIPs = append(b.d.FloatingIPs, FloatingIP{ID: "x", FloatingIPAddress: netip.MustParseAddr("203.0.113.31"), FloatingNetworkID: ext})
	specs, err := b.d.compile()
	require.NoError(t, err)
	assert.Empty(t, specs[0].NAT.FIPs)
}

func TestCompileNoSNAT(t *testing.T) {
	b, r, _ := basicDoc()
	off := false
	b.routerByID(r).ExternalGatewayInfo.EnableSNAT = &off
	specs, err := b.d.compile()
	require.NoError(t, err)
	assert.False(t, specs[0].NAT.SNAT)
}
