// Package router models Neutron routers and floating IPs and realizes them on
// a node the way Neutron's legacy L3 agent does, through netlink and
// nftables instead of ip, sysctl, iptables-restore, conntrack and arping
// processes.
//
// # What it realizes
//
// A Realizer takes the node's complete Desired (routers, their interface and
// gateway ports, the subnets and networks of those ports, their floating
// IPs) and makes the node match it. Per router:
//
//   - a namespace <prefix>qrouter-<router-id> (namespace.Manager, the node
//     prefix from WithPrefix), with loopback up and Neutron's sysctls:
//     net.ipv4.ip_forward=1, net.ipv4.conf.all.arp_ignore=1,
//     arp_announce=2, promote_secondaries=1, net.ipv6.conf.all.forwarding=1
//     and net.netfilter.nf_conntrack_tcp_be_liberal=1;
//   - per router port, a veth pair: tap<port11> in the host, enslaved to the
//     network's bridge brq<net11> with the network's MTU and no IPv6
//     addresses, and qr-<port11> (interface) or qg-<port11> (gateway) created
//     directly in the router namespace with the port's MAC and MTU, up as the
//     port's admin_state_up says, carrying the port's fixed IPs with their
//     subnets' prefix lengths (several subnets per interface; IPv6 without
//     duplicate address detection) and, on the gateway, each floating IP as a
//     /32 so the router answers ARP for it;
//   - a default route per address family via the external subnet's gateway,
//     and the router's extra routes (one destination with several next hops
//     becomes an ECMP route), all with rtm_protocol nl.RouteProtocol;
//   - NAT, for a router with an IPv4 gateway address, in one table
//     "inet neutrino-router" (see NAT below): floating IPs as
//     1:1 DNAT/SNAT through the maps fip-dnat and fip-snat, so adding,
//     moving or removing one is an element change; default SNAT to the
//     gateway address when enable_snat; Neutron's hairpin rule; nothing
//     between internal networks; floating IP port forwardings (a FIP with
//     port_forwardings and no port_id, held on the gateway) as DNAT through
//     the map fip-pf (fip . protocol . external port : address . port, one
//     element per external port of a range; no SNAT, as in Neutron: replies
//     go back through conntrack), removed ones' flows deleted by FIP,
//     protocol and port. IPv6 is routed without NAT. Every NAT change
//     of a pass is one nftables transaction, committed only onto the table as
//     it was read (generation check);
//   - address scopes, in the same table and transaction (see Address scopes
//     below): subnets in the external network's scope routed to and from it
//     without NAT, traffic between subnets of different scopes dropped;
//   - the metadata redirect, in the same table and transaction, with
//     WithMetadataPort: 169.254.169.254:80 from qr- interfaces to the
//     metadata proxy's listener in the namespace (package metadata), and
//     that port closed to anything not redirected (metadata_linux.go);
//   - gratuitous ARP (mdlayher/arp, a raw socket opened inside the namespace)
//     for every IPv4 address that appears on a router interface and for a
//     floating IP that moves: WithGARP rounds of a request and a reply, sent
//     in the background (Wait waits for them, Close stops them);
//   - conntrack flows of a floating IP that is removed or moved, and of a
//     gateway address that is removed, deleted (as Neutron's `conntrack -D
//     -d ip` and `-q ip`), so an established flow cannot keep reaching the
//     old port.
//   - IPv6 neighbour discovery (see below): router advertisements from
//     every interface with an ipv6_ra_mode subnet, accept_ra on an IPv6
//     gateway, unsolicited neighbour advertisements for IPv6 addresses that
//     appear (WithGARP's rounds).
//
// # IPv6 router advertisements
//
// What Neutron's L3 agent runs a radvd per router for is sent in-process
// (internal/ra): one raw ICMPv6 socket per advertising interface, opened
// inside the router namespace, all served from the realizer's process. An
// interface advertises the subnets of its port that have an ipv6_ra_mode,
// in one RA, with Neutron's flags (slaac: A=1; dhcpv6-stateful: M=1, A=0;
// dhcpv6-stateless: O=1, A=1), the network MTU, RDNSS from slaac subnets'
// dns_nameservers, DNSSL from the subnet's or network's dns_domain (else
// WithDNSDomain), from its EUI-64 link-local address. A subnet with only
// ipv6_address_mode gets no RA (an external router advertises, as in
// Neutron). Intervals are Neutron's radvd settings, 30–100 s
// (WithRouterAdvertisements). A change is sent at once on that interface's
// socket and reported as one "ra" change; an interface, subnet or router
// that goes sends its final RA (router lifetime 0) before its device is
// deleted, so hosts drop the default route at once. Close stops
// advertising without final RAs (hosts keep their routes through an agent
// restart); a new process advertises again on its first Apply, and a qr-
// interface with IPv6 addresses that goes before it ever advertised there
// sends a bare final RA, since what it advertised is no longer known.
//
// A gateway with IPv6 addresses gets net.ipv6.conf.<qg>.accept_ra=2 (and
// autoconf=0: its address is its fixed IP) when none of its IPv6 subnets
// has a gateway_ip, so the kernel learns the default route from upstream
// RAs, and accept_ra=0 otherwise, as Neutron's
// _configure_ipv6_params_on_gw; with a gateway_ip the static default route
// serves.
//
// # NAT
//
// The table of a router, as `nft list` prints its rules (IPv4 only):
//
//	prerouting, output:
//	  dnat ip to ip daddr map @fip-dnat
//	postrouting:
//	  oifname != "qg-…" ct status ! dnat accept                            no SNAT between internal networks
//	  snat ip to ip saddr map @fip-snat fully-random                       floating IPs
//	  oifname "qg-…" snat ip to <gateway> fully-random                     enable_snat
//	  iifname != "qg-…" ct status dnat snat ip to <gateway> fully-random   hairpin
//
// The hairpin rule is for internal clients of a floating IP: the target's
// replies must come back through the router. fully-random follows Neutron's
// use_random_fully (WithRandomFully).
//
// # Address scopes
//
// As Neutron's L3 agent does (router_info.py, process_address_scope), per
// IP version: a subnet's scope is its subnet pool's address_scope_id
// (ipam.Scopes, the resolution BGP advertisement uses too), given through
// Desired.SubnetPools and Desired.AddressScopes; the external network's is
// that of the gateway port's subnet. An internal subnet in the external
// network's scope is routed to and from it without SNAT, so an upstream
// router that learned it over BGP reaches its instances on their fixed
// IPs, and they leave with them; other IPv4 subnets are SNATed as before;
// a floating IP still translates its port, in a scope or not (its rules
// come first); a new connection between two interfaces of different scopes
// is dropped, unless a floating IP or the gateway's SNAT translates it.
// Subnets in no scope share one ("noscope", as in Neutron).
//
// Each interface and family carries its subnets' scope as a mark in the
// upper 16 bits of the packet mark (Neutron's 0xffff0000), set in a
// mangle-priority prerouting chain from the map scope-mark (interface .
// family : mark); a forward chain drops a new connection whose mark is not
// the output interface's (set scope-ok, interface . family . mark), after
// accepting established flows (Neutron restores the connection's mark for
// the same purpose), DNATed ones, floating IPs' own traffic and, with
// enable_snat, IPv4 out of the gateway; the postrouting NAT chain accepts
// IPv4 carrying the gateway's mark before the SNAT rule. A mark is derived
// from the scope's ID, so an interface joining, leaving or changing scope
// is two element changes (map and set), never a rule change; a router with
// no scope anywhere gets none of these objects. Decisions where Neutron is
// implicit:
//
//   - IPv6 is never NATed, so a scoped IPv6 subnet is routed like an IPv4
//     one and an IPv6 subnet of another scope than the gateway's cannot
//     reach the external network at all (Neutron exempts only IPv4 SNAT).
//   - A router without a gateway still separates its interfaces' scopes.
//   - With enable_snat false, IPv4 out of the gateway must stay in scope
//     too (floating IPs excepted), as in Neutron, where the gateway's scope
//     rule is only skipped when SNAT is enabled.
//   - A subnet whose scope changes has its flows (from and to its CIDR)
//     deleted from conntrack after the commit; when the gateway's scope
//     changes, those of every internal subnet of the family. Flows admitted
//     or left untranslated under the old scope do not outlive it.
//   - An interface whose subnets of one family lie in different scopes is
//     refused (ErrConflict): Neutron keeps a network's subnets in one scope
//     per family, and the L3 agent marks per device.
//   - `nft list` prints the scope-mark map's values byte-swapped: the
//     nftables library cannot record the byte order of map data, only of
//     keys; the kernel holds and uses the right marks (the scope-ok set
//     prints them correctly).
//
// A router no longer desired (or with admin_state_up false: Neutron's server
// hands the agent only routers that are up) loses its namespace: its devices
// are deleted first, which takes their host ends at once, then the namespace.
//
// # Which namespace its code runs in
//
// The realizer never switches the calling thread's namespace. It works
// through the host's namespace.Handle (bridges, host ends of the pairs) and
// one handle per router namespace (netlink, nftables). Only what has no
// namespace option runs inside Handle.Do: opening the sysctl files, the
// netlink notification socket and the ARP socket; once open, they are used
// from any goroutine.
//
// # What it owns
//
// Devices whose IFLA_IFALIAS is naming.OwnerAlias("router-port", port-id) on
// both ends of a pair; routes with our rtm_protocol in router namespaces; the
// table inet neutrino-router; and the namespaces <prefix>qrouter-* that hold
// nothing but loopback and devices of ours. A device with one of our names
// but not our alias is a conflict (ErrConflict) for its router and is left
// alone; a router namespace holding foreign devices is never removed.
//
// # The contract
//
// Apply converges from any start: it reads the kernel back (one dump per
// kind per namespace) and issues only the difference; a second Apply reports
// zero mutations. Plan reports the same changes without making them. An
// invalid Desired is refused before anything changes (errors carry the JSON
// path and wrap ErrInvalid, ErrConflict or ErrNotFound). At run time a router
// that fails (a missing bridge, a foreign device) does not stop the others;
// the error names it. Routers are realized concurrently (WithWorkers),
// except that the forwarding sysctls of new namespaces are written while no
// worker changes links: the kernel takes the routing netlink lock for them
// with a trylock and restarts the write until it gets it, spinning on a CPU
// the link changes need.
//
// # Cost
//
// Reading state back is the expensive part at scale, so the realizer keeps,
// per router namespace, what lets it read back only what changed, each
// piece used only while the kernel confirms it: the open namespace handle
// (while it still is the namespace mounted under its name); links and
// addresses mirrored from the kernel's netlink notifications (drained at the
// start of a pass, dumped again if the socket overflowed); the sysctl files,
// opened once inside the namespace; and the NAT table as of an nftables
// generation (used while the generation is unchanged; commits name the
// generation they were diffed against, so a table changed by hand meanwhile
// is refused and read again). The host's links are mirrored the same way.
// None of this is needed to converge: a new Realizer, or a restarted
// process, reads everything once. A no-op pass over 100 routers reads one
// route dump, one nftables generation and six sysctls per router; a
// floating-IP change on a router with 10,000 touches two map elements and
// one address. Conntrack cleanup, which makes the kernel walk its whole
// conntrack hash, runs in the background like gratuitous ARP.
//
// The nftables library waits for replies with select(2) and panics on a
// socket numbered 1024 or more (google/nftables#352). The descriptors the
// realizer keeps per namespace for itself are moved above 4096; the five
// per namespace that the namespace package and the libraries open stay low,
// so at most WithMaxOpenNamespaces (128) namespaces are kept open and the
// rest are opened per pass, and a namespace is not opened at all (an error
// wrapping ErrExhausted) when the lowest free descriptor nears 1024.
//
// # Deviations from Neutron, and why
//
//   - Gratuitous ARP rounds are 1 s apart by default, not 2 s: Neutron's
//     spacing works around arping's fixed interval and process start-up, and
//     a moved floating IP is announced too (Neutron's legacy router relies on
//     the MAC not changing; here a FIP may move between routers).
//   - The hairpin rule matches the input interface instead of Neutron's mark
//     0x2 set in a mangle chain: the same packets, one rule fewer.
//   - The metadata proxy, HA and DVR routers are not realized.
//   - Router advertisements also carry DNSSL (Neutron's radvd sends none).
//   - Host ends get IPv6 address generation "none" rather than
//     disable_ipv6: one netlink message at creation instead of a sysctl
//     write per device.
package router
