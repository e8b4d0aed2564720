package router

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
)

// scopedDoc: external 203.0.113.0/24 and 2001:db8:ff::/64 in scopes e4/e6;
// router r with
//
//	s   100.64.1.0/24 (e4) + 2001:db8:1::/64 (e6)   routed without NAT
//	u   100.64.2.0/24, 2001:db8:2::/64 (no scope)   SNATed, IPv6 blocked from outside
//	o   100.64.3.0/24 (o4)                          SNATed, isolated
func scopedDoc() (b *docBuilder, r string, subs map[string]string) {
	b = &docBuilder{}
	b.d.AddressScopes = []ipam.AddressScope{{ID: "e4", IPVersion: 4}, {ID: "e6", IPVersion: 6}, {ID: "o4", IPVersion: 4}}
	b.d.SubnetPools = []ipam.SubnetPool{
		{ID: "p-e4", AddressScopeID: "e4", Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("100.64.1.0/24")}},
		{ID: "p-e6", AddressScopeID: "e6", Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}},
		{ID: "p-o4", AddressScopeID: "o4", Prefixes: []netip.Prefix{netip.MustParsePrefix("100.64.3.0/24")}},
		{ID: "p-plain", Prefixes: []netip.Prefix{netip.MustParsePrefix("100.64.2.0/24")}},
	}
	subs = map[string]string{}
	ext, extSub := b.network("203.0.113.0/24", "203.0.113.1", true)
	b.subnet(extSub).SubnetPoolID = "p-e4"
	ext6 := b.addSubnet(ext, "2001:db8:ff::/64", "2001:db8:ff::1")
	b.subnet(ext6).SubnetPoolID = "p-e6"
	r = b.router(ext, extSub, "203.0.113.10")
	b.d.Ports[0].FixedIPs = append(b.d.Ports[0].FixedIPs, fixed(ext6, "2001:db8:ff::10"))
	for _, n := range []struct{ name, v4, v6, pool4, pool6 string }{
		{"s", "100.64.1.0/24", "2001:db8:1::/64", "p-e4", "p-e6"},
		{"u", "100.64.2.0/24", "2001:db8:2::/64", "p-plain", ""},
		{"o", "100.64.3.0/24", "", "p-o4", ""},
	} {
		netID, s4 := b.network(n.v4, netip.MustParsePrefix(n.v4).Addr().Next().String(), false)
		b.subnet(s4).SubnetPoolID = n.pool4
		p := b.attach(r, s4)
		subs[n.name] = s4
		if n.v6 != "" {
			s6 := b.addSubnet(netID, n.v6, netip.MustParsePrefix(n.v6).Addr().Next().String())
			b.subnet(s6).SubnetPoolID = n.pool6
			for i := range b.d.Ports {
				if b.d.Ports[i].ID == p.ID {
					b.d.Ports[i].FixedIPs = append(b.d.Ports[i].FixedIPs, fixed(s6, b.subnet(s6).GatewayIP.String()))
				}
			}
		}
	}
	return b, r, subs
}

func compileOne(t *testing.T, b *docBuilder) *routerSpec {
	t.Helper()
	specs, err := b.d.compile()
	require.NoError(t, err)
	require.Len(t, specs, 1)
	return specs[0]
}

// devOf returns the device of the router port on subnet id.
func devOf(t *testing.T, s *routerSpec, b *docBuilder, id string) string {
	t.Helper()
	cidr := b.subnet(id).CIDR
	for _, i := range s.Ifaces {
		for _, p := range i.Subnets {
			if p == cidr {
				return i.Name
			}
		}
	}
	t.Fatalf("no interface on %s", cidr)
	return ""
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func TestScopeDecidesWhichSubnetsAreRoutedWithoutNAT(t *testing.T) {
	b, _, subs := scopedDoc()
	s := compileOne(t, b)
	require.NotNil(t, s.Scope)
	// Both families of s share the gateway's scopes; u and o do not.
	assert.Equal(t, prefixes("100.64.1.0/24", "2001:db8:1::/64"), s.noNAT())
	assert.False(t, s.snats(devOf(t, s, b, subs["s"])), "s is routed without SNAT")
	assert.True(t, s.snats(devOf(t, s, b, subs["u"])), "u is SNATed")
	assert.True(t, s.snats(devOf(t, s, b, subs["o"])), "o is SNATed")
	assert.Equal(t, s.Scope.mark(s.Gateway.Name, famV4), s.Scope.NoSNATMark)

	// Without SNAT nothing is translated: no no-SNAT mark to match.
	off := false
	b.d.Routers[0].ExternalGatewayInfo.EnableSNAT = &off
	s = compileOne(t, b)
	assert.Zero(t, s.Scope.NoSNATMark)
	assert.False(t, s.Scope.SNATCrosses)
	assert.False(t, s.snats(devOf(t, s, b, subs["u"])))
}

func TestScopeDecidesWhichPairsAreBlocked(t *testing.T) {
	b, _, subs := scopedDoc()
	s := compileOne(t, b)
	gw := s.Gateway.Name
	S, U, O := devOf(t, s, b, subs["s"]), devOf(t, s, b, subs["u"]), devOf(t, s, b, subs["o"])
	for _, c := range []struct {
		in, out string
		fam     int
		blocked bool
	}{
		{S, gw, famV4, false}, {gw, S, famV4, false}, // same scope, both ways
		{S, gw, famV6, false}, {gw, S, famV6, false},
		{U, gw, famV4, false}, {O, gw, famV4, false}, // SNAT crosses scopes out…
		{gw, U, famV4, true}, {gw, O, famV4, true}, // …but nothing comes in untranslated
		{U, gw, famV6, true}, {gw, U, famV6, true}, // IPv6 is never SNATed
		{S, U, famV4, true}, {U, S, famV4, true}, {S, O, famV4, true}, {O, U, famV4, true},
		{S, U, famV6, true},
		{S, S, famV4, false}, {U, U, famV4, false}, // hairpin on one interface
		{O, O, famV6, true}, // o has no IPv6 subnet: nothing of IPv6 goes there
	} {
		assert.Equal(t, c.blocked, s.Scope.blocked(c.in, c.out, c.fam), "%s -> %s family %d", c.in, c.out, c.fam)
	}

	// enable_snat=false: IPv4 out of the gateway must stay in scope too.
	off := false
	b.d.Routers[0].ExternalGatewayInfo.EnableSNAT = &off
	s = compileOne(t, b)
	assert.True(t, s.Scope.blocked(U, gw, famV4))
	assert.False(t, s.Scope.blocked(S, gw, famV4))
}

func TestRouterWithoutGatewayStillSeparatesScopes(t *testing.T) {
	b, r, subs := scopedDoc()
	b.routerByID(r).ExternalGatewayInfo = nil
	b.d.Ports = b.d.Ports[1:] // the gateway port
	s := compileOne(t, b)
	require.NotNil(t, s.Scope)
	assert.Nil(t, s.NAT)
	assert.Empty(t, s.noNAT())
	S, U := devOf(t, s, b, subs["s"]), devOf(t, s, b, subs["u"])
	assert.True(t, s.Scope.blocked(S, U, famV4))
	assert.False(t, s.Scope.blocked(S, S, famV4))
}

func TestNoScopeAnywhereMeansNoScopePolicy(t *testing.T) {
	b, _, _ := basicDoc()
	s := compileOne(t, b)
	assert.Nil(t, s.Scope, "a router without scopes keeps the table it had before scopes existed")
	assert.False(t, s.Scope.blocked("a", "b", famV4))
	assert.True(t, s.snats(s.Ifaces[1].Name))
}

func TestScopeMarksAreStableAndDistinct(t *testing.T) {
	m := scopeMarks([]string{"b", "a"})
	assert.Equal(t, uint32(noScopeMark), m[""])
	assert.Equal(t, m["a"], scopeMarks([]string{"a", "zzz"})["a"], "a scope's mark does not depend on the others")
	seen := map[uint32]bool{}
	ids := make([]string, 2000)
	for i := range ids {
		ids[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}).String()
	}
	for _, v := range scopeMarks(ids) {
		assert.False(t, seen[v], "mark %#x given twice", v)
		assert.Zero(t, v&^uint32(scopeMarkMask), "mark %#x uses the lower half", v)
		seen[v] = true
	}
}

func TestScopeValidation(t *testing.T) {
	b, _, subs := scopedDoc()
	b.subnet(subs["u"]).SubnetPoolID = "p-missing"
	_, err := b.d.compile()
	require.Error(t, err)
	assert.True(t, errors.Is(err, errdefs.ErrNotFound), "%v", err)
	assert.Contains(t, err.Error(), ".subnetpool_id: subnet pool p-missing is not in subnetpools")

	b, _, _ = scopedDoc()
	b.d.SubnetPools[2].AddressScopeID = "nope"
	_, err = b.d.compile()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "subnetpools[2].address_scope_id")

	// Two IPv4 subnets of one interface in different scopes: the interface
	// cannot carry both marks.
	b, _, subs = scopedDoc()
	var p *int
	for i := range b.d.Ports {
		for _, f := range b.d.Ports[i].FixedIPs {
			if f.SubnetID == subs["s"] {
				p = &i
			}
		}
	}
	require.NotNil(t, p)
	extra := b.addSubnet(b.d.Ports[*p].NetworkID, "100.64.9.0/24", "100.64.9.1")
	b.subnet(extra).SubnetPoolID = "p-o4"
	b.d.Ports[*p].FixedIPs = append(b.d.Ports[*p].FixedIPs, fixed(extra, "100.64.9.1"))
	_, err = b.d.compile()
	require.Error(t, err)
	assert.True(t, errors.Is(err, errdefs.ErrConflict), "%v", err)
	assert.Contains(t, err.Error(), "fixed_ips[2].subnet_id")
}
