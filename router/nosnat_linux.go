package router

import (
	"net"
	"net/netip"

	"github.com/google/nftables/expr"
)

// noSNATRules are the postrouting accepts of the no-SNAT destinations,
// "ip daddr <prefix> accept" each: the comment names the prefix, so a
// change of destinations is a change of rules the NAT diff already makes.
func noSNATRules(dsts []netip.Prefix) []natRule {
	out := make([]natRule, 0, len(dsts))
	for _, p := range dsts {
		a := p.Addr().As4()
		mask := net.CIDRMask(p.Bits(), 32)
		out = append(out, natRule{"no-snat dst " + p.String(), concat(ipv4(), payload(16),
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
			&expr.Verdict{Kind: expr.VerdictAccept})})
	}
	return out
}
