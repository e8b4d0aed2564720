package router

import (
	"net/netip"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/stretchr/testify/assert"
)

func TestNoSNATDestinationsPrecedeEverySNAT(t *testing.T) {
	pfx := func(s ...string) []netip.Prefix {
		out := make([]netip.Prefix, len(s))
		for i, v := range s {
			out[i] = netip.MustParsePrefix(v)
		}
		return out
	}
	n := &natSpec{GatewayDev: "qg-1", GatewayIP: netip.MustParseAddr("203.0.113.10"), SNAT: true,
		NoSNAT: noSNAT(pfx("10.9.0.0/16", "2001:db8::/64", "10.8.0.7/24", "10.8.0.0/24"))}
	chains := natChains(n, nil, false)
	assert.Equal(t, []string{
		"internal !qg-1",
		"no-snat dst 10.8.0.0/24",
		"no-snat dst 10.9.0.0/16",
		"fip snat",
		"snat qg-1 203.0.113.10",
		"hairpin !qg-1 203.0.113.10",
	}, comments(chains)["postrouting"])
	r := chains[2].rules[1]
	m, ok := r.exprs[0].(*expr.Meta)
	assert.True(t, ok && m.Key == expr.MetaKeyNFPROTO, "the rule loads an IPv4 field: it must match nfproto first")
	assert.Equal(t, []byte{255, 255, 255, 0}, r.exprs[3].(*expr.Bitwise).Mask)
	assert.Equal(t, []byte{10, 8, 0, 0}, r.exprs[4].(*expr.Cmp).Data)
}

func TestNoSNATDestinationsReachTheRouterSpec(t *testing.T) {
	b, _, _ := scopedDoc()
	var id string
	for _, r := range b.d.Routers {
		id = r.ID
	}
	b.d.NoSNATDestinations = map[string][]netip.Prefix{id: {netip.MustParsePrefix("10.8.0.0/24")}}
	s := compileOne(t, b)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.8.0.0/24")}, s.NAT.NoSNAT)
}
