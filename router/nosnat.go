package router

import (
	"net/netip"
	"slices"
)

// noSNAT returns the IPv4 prefixes of dsts, masked, sorted and without
// repeats: the destinations a router's NAT leaves untranslated. Neutron's
// VPN driver puts "-s <local> -d <peer> -m policy --pol ipsec -j ACCEPT" at
// the top of the router's POSTROUTING so that traffic to the peer sites
// enters the tunnel with the instance's own address; here the VPN realizer
// hands the peer CIDRs to the router realizer (Desired.NoSNATDestinations)
// and one accept per destination precedes every SNAT rule. IPv6 is routed
// without NAT, as in Neutron, so its prefixes are dropped.
func noSNAT(dsts []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range dsts {
		if p.IsValid() && p.Addr().Is4() {
			out = append(out, p.Masked())
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(out)
}
