package router

import (
	"fmt"
	"net/netip"
	"strings"
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
		"prerouting": {"fip port forwarding", "fip dnat"},
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
	b, _, _ := scopedDoc()
	s := compileOne(t, b)
	chains := append(natChains(s.NAT, s.Scope, true), scopeChains(s.Scope, s.NAT)...)
	for _, c := range chains {
		for _, r := range c.rules {
			var nat *expr.NAT
			for _, e := range r.exprs {
				if v, ok := e.(*expr.NAT); ok {
					nat = v
				}
			}
			if nat == nil && !strings.HasPrefix(r.comment, "no-snat") && !strings.HasPrefix(r.comment, "fip ") && !strings.HasPrefix(r.comment, "snat crosses") {
				continue // rules that load no IPv4 header field
			}
			// A NAT rule in an inet table must be confined to IPv4 before it
			// loads IPv4 header fields: its first match is meta nfproto.
			m, ok := r.exprs[0].(*expr.Meta)
			assert.True(t, ok && m.Key == expr.MetaKeyNFPROTO, "rule %q starts with %T", r.comment, r.exprs[0])
		}
	}
}

func TestScopeObjectsFollowTheDecision(t *testing.T) {
	b, _, _ := scopedDoc()
	s := compileOne(t, b)
	gw := s.Gateway.Name
	post := comments(natChains(s.NAT, s.Scope, false))["postrouting"]
	assert.Equal(t, []string{"internal !" + gw, "fip snat", fmt.Sprintf("no-snat %s mark %#x", gw, s.Scope.NoSNATMark),
		"snat " + gw + " 203.0.113.10", "hairpin !" + gw + " 203.0.113.10"}, post)
	assert.Equal(t, map[string][]string{
		"scope":   {"scope mark"},
		"forward": {"established", "dnat", "fip " + gw, "snat crosses " + gw, "scope"},
	}, comments(scopeChains(s.Scope, s.NAT)))

	// Without SNAT nothing may leave through the gateway out of scope, and
	// nothing needs exempting from SNAT.
	off := false
	b.d.Routers[0].ExternalGatewayInfo.EnableSNAT = &off
	s = compileOne(t, b)
	assert.NotContains(t, comments(natChains(s.NAT, s.Scope, false))["postrouting"], fmt.Sprintf("no-snat %s mark %#x", gw, s.Scope.NoSNATMark))
	assert.Equal(t, []string{"established", "dnat", "fip " + gw, "scope"}, comments(scopeChains(s.Scope, s.NAT))["forward"])

	// Every interface and family with subnets is one element of each set,
	// and reads back as written.
	assert.Len(t, s.Scope.Marks, 7) // qg, s and u: IPv4 and IPv6; o: IPv4
	for _, m := range s.Scope.Marks {
		got, ok := parseScopeMark(m.markElement(), false)
		assert.True(t, ok)
		assert.Equal(t, m, got)
		got, ok = parseScopeMark(m.okElement(), true)
		assert.True(t, ok)
		assert.Equal(t, m, got)
	}
}

func TestDiffScopeMarksMovesOneInterface(t *testing.T) {
	a4 := scopeMark{"qr-a", famV4, 0x20000}
	b4 := scopeMark{"qr-b", famV4, noScopeMark}
	have := map[scopeMark]bool{a4: true, b4: true}
	moved := scopeMark{"qr-b", famV4, 0x20000}
	del, add := diffScopeMarks(have, []scopeMark{a4, moved})
	assert.Equal(t, []scopeMark{b4}, del)
	assert.Equal(t, []scopeMark{moved}, add)
}
