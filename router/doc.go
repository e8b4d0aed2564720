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
//     between internal networks. IPv6 is routed without NAT. Every NAT change
//     of a pass is one nftables transaction, committed only onto the table as
//     it was read (generation check);
//   - gratuitous ARP (mdlayher/arp, a raw socket opened inside the namespace)
//     for every IPv4 address that appears on a router interface and for a
//     floating IP that moves: WithGARP rounds of a request and a reply, sent
//     in the background (Wait waits for them, Close stops them);
//   - conntrack flows of a floating IP that is removed or moved, and of a
//     gateway address that is removed, deleted (as Neutron's `conntrack -D
//     -d ip` and `-q ip`), so an established flow cannot keep reaching the
//     old port.
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
// A router no longer desired (or with admin_state_up false: Neutron's server
// hands the agent only routers that are up) loses its namespace: its devices
// are deleted first, which takes their host ends at once, then the namespace.
//
// # Which namespace its code runs in
//
// The realizer never switches the calling thread's namespace. It works
// through the host's namespace.Handle (bridges, host ends of the pairs) and
// one handle per router namespace (netlink, nftables). Only what has no
// namespace option runs inside Handle.Do: sysctl reads and writes, and
// opening the ARP socket.
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
// the error names it. Routers are realized concurrently (WithWorkers).
//
// The realizer keeps open handles on router namespaces between passes, each
// used only while it still is the namespace mounted under its name, and the
// NAT table as of an nftables generation, used only while the namespace's
// generation is unchanged; neither is needed to converge.
//
// # Deviations from Neutron, and why
//
//   - Gratuitous ARP rounds are 1 s apart by default, not 2 s: Neutron's
//     spacing works around arping's fixed interval and process start-up, and
//     a moved floating IP is announced too (Neutron's legacy router relies on
//     the MAC not changing; here a FIP may move between routers).
//   - The hairpin rule matches the input interface instead of Neutron's mark
//     0x2 set in a mangle chain: the same packets, one rule fewer.
//   - Address scopes (no SNAT within a scope), the metadata proxy, router
//     advertisements (radvd), HA and DVR routers are not realized.
//   - Host ends get IPv6 address generation "none" rather than
//     disable_ipv6: one netlink message at creation instead of a sysctl
//     write per device.
package router
