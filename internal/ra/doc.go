// Package ra sends IPv6 router advertisements in-process: what Neutron's
// L3 agent runs one radvd per router for.
//
// # Decision and sending
//
// Advert and Final decide what an interface advertises, a pure function of
// a Link (its subnets with their ipv6_ra_mode, DNS servers, the network
// MTU, the DNS domain) and the Timing. Mode by mode, as Neutron's radvd
// template (neutron/agent/linux/ra.py):
//
//	slaac             A=1                  prefix on-link, autonomous; RDNSS, DNSSL
//	dhcpv6-stateless  O=1, A=1             prefix on-link, autonomous
//	dhcpv6-stateful   M=1, A=0             prefix on-link, not autonomous
//
// Several subnets on one interface share one RA. The MTU option goes out
// when the MTU is at least 1280; RDNSS carries at most three servers, taken
// from slaac subnets only (the others' hosts ask DHCPv6); the route to
// Neutron's metadata address fe80::a9fe:a9fe/128 is always advertised, as
// Neutron's template does. DNSSL is ours: Neutron's radvd sends none.
//
// A Server sends them: per interface one raw ICMPv6 socket, created inside
// the interface's namespace (a raw socket belongs to the namespace it is
// created in) and bound to the interface, and two goroutines, one answering
// router solicitations and one sending on a timer. Nothing runs per router
// beyond that, and a change at one interface touches that interface's
// socket only. Tests inject connections (WithDialer).
//
// # Timing, and how it compares with radvd
//
// DefaultTiming is radvd's as Neutron configures it: unsolicited RAs at a
// random interval between MinRtrAdvInterval 30 s and MaxRtrAdvInterval
// 100 s, the first three at most 16 s apart (RFC 4861's initial
// advertisements); router lifetime three max intervals (300 s, radvd's
// AdvDefaultLifetime); prefix valid and preferred lifetimes 86400 s and
// 14400 s (radvd's defaults); RDNSS, DNSSL and route lifetimes three max
// intervals (RFC 8106). Solicitations are answered after a random delay of
// at most 0.5 s, unicast to a soliciting host that has an address (RFC
// 7772, radvd's AdvRASolicitedUnicast), multicast otherwise, and multicast
// RAs are at least 3 s apart. A changed Link is sent at once and restarts
// the initial advertisements; prefixes it lost go out with lifetime 0 in
// them, so hosts deprecate their addresses. A withdrawn interface sends
// three final RAs (MAX_FINAL_RTR_ADVERTISEMENTS) with router lifetime 0 and
// every lifetime 0 before Withdraw returns: hosts drop the default route at
// once instead of after 300 s.
//
// Close stops sending without final RAs: an agent restarting within the
// router lifetime must not make every host drop its default route.
// Goodbye sends the final RAs of an interface the server never advertised
// on: for one that goes after the process restarted.
//
// # What it owns
//
// Only its sockets. The RA source is the interface's link-local address
// (Link.Source), given in IPV6_PKTINFO: while the kernel still checks it
// for duplicates it refuses the send, and the advertiser retries shortly,
// rather than letting the kernel pick a global source hosts would drop.
// Sockets are moved to descriptor numbers from 4096 up, as the router
// realizer's files are, leaving numbers below 1024 to the nftables library.
package ra
