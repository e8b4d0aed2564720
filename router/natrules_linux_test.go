package router

import (
	"net/netip"
	"testing"

	"github.com/google/nftables/expr"
	"github.com/stretchr/testify/assert"
)

func comments(chains []natChain) map[string][]string {
	out := map[string][]string{}
	for _, c := range chains {
		for _, r := range c.rules {
			out[c.name] = append(out[c.name], r.comment)
		}
	}
	return out
}

func TestNATChainsFollowNeutron(t *testing.T) {
	n := &natSpec{GatewayDev: "qg-1", GatewayIP: netip.MustParseAddr("203.0.113.10"), SNAT: true}
	assert.Equal(t, map[string][]string{
		"prerouting": {"fip dnat"},
		"output":     {"fip dnat"},
		"postrouting": {
			"internal !qg-1",
			"fip snat fully-random",
			"snat qg-1 203.0.113.10 fully-random",
			"hairpin !qg-1 203.0.113.10 fully-random",
		},
	}, comments(natChains(n, nil, true)))

	// Without enable_snat the floating IPs and the hairpin stay.
	n.SNAT = false
	assert.Equal(t, []string{"internal !qg-1", "fip snat", "hairpin !qg-1 203.0.113.10"}, comments(natChains(n, nil, false))["postrouting"])
}

func TestNATRulesMatchIPv4Only(t *testing.T) {
	n := &natSpec{GatewayDev: "qg-1", GatewayIP: netip.MustParseAddr("203.0.113.10"), SNAT: true}
	for _, c := range natChains(n, nil, true) {
		for _, r := range c.rules {
			var nat *expr.NAT
			for _, e := range r.exprs {
				if v, ok := e.(*expr.NAT); ok {
					nat = v
				}
			}
			if nat == nil {
				continue // the accept rule
			}
			// A NAT rule in an inet table must be confined to IPv4 before it
			// loads IPv4 header fields: its first match is meta nfproto.
			m, ok := r.exprs[0].(*expr.Meta)
			assert.True(t, ok && m.Key == expr.MetaKeyNFPROTO, "rule %q starts with %T", r.comment, r.exprs[0])
		}
	}
}
