// Package secgroup models Neutron security groups, rules and address groups,
// compiles them with port security into nftables objects and realizes them on
// a node: stateful filtering of bridged traffic in an inet table, per-port
// chains dispatched by verdict maps, per-group chains, remote groups as sets.
//
// # What it realizes, and where
//
// Realizer.Apply makes the node's host namespace (a namespace.Handle; the
// node's own namespace in production, a lab namespace in tests) enforce a
// Desired policy: the security groups, the address groups, the ports bound
// to this node (filtered at their host devices tap<port-id[:11]>, whichever
// realizer created them) and the ports bound elsewhere (members of remote
// groups). It owns exactly two tables there, `table inet neutrino` and
// `table bridge neutrino`, and never reads or writes another; it also sets
// net.bridge.bridge-nf-call-iptables and -ip6tables to 1 in that namespace
// (they are per namespace), without which bridged traffic never reaches the
// inet hooks, and reports it. All code that touches the kernel is in
// *_linux.go files; elsewhere NewRealizer returns errors.ErrUnsupported.
//
// # The design
//
// This kernel has no bridge-family conntrack, so stateful filtering happens
// in the inet family on bridged traffic (br_netfilter), where iifname and
// oifname are the bridge, not the port. Port identity therefore travels in
// the packet mark, in the bits of a mask (DefaultMarkMask, WithMarkMask):
//
//   - bridge prerouting (priority -300, before br_netfilter): `meta mark set
//     iifname map @port-marks goto antispoof` writes a filtered port's
//     number into the mark of its frames and sends them through the shared
//     antispoof chain: the source MAC must be one of the port's
//     (set macs), ARP must carry one of its (MAC, IPv4) pairs (set pairs4;
//     0.0.0.0 for probes), IPv4 and IPv6 must come from one of its (MAC,
//     address) pairs (pairs4, pairs6: fixed IPs, allowed address pairs with
//     their MACs, CIDRs as ranges, the EUI-64 link-local address of each
//     MAC), plus DHCP discovery from 0.0.0.0 and duplicate address
//     detection from ::; everything else is dropped. Anti-spoofing is thus
//     set elements, not rules, and runs before conntrack sees a spoofed
//     packet.
//   - inet raw prerouting (-300): a conntrack zone per network, chosen by the
//     bridge (`iifname vmap @zones`, one `ct zone set` chain per network),
//     so overlapping tenant addresses on different networks never share
//     conntrack entries; packets from ports of stateless groups are not
//     tracked (`notrack`, and the chain ends there: a later zone set would
//     track them again).
//   - inet prerouting (-199, right after conntrack) filters egress: DHCP
//     server replies (UDP source 67, 547) and router advertisements from
//     instances are dropped before `ct state established,related accept`,
//     `ct state invalid drop`, DHCP client and neighbour discovery traffic
//     are allowed, and `meta mark & mask vmap @egress-ports` jumps to the
//     chain of the port's security group (or a chain trying each of its
//     groups); what no rule accepts is dropped.
//   - bridge forward (-200): `oifname vmap @ports-out` writes the output
//     port's number (a one-rule chain to-<tap> per port), and inet forward
//     (-200) filters ingress the
//     same way through @ingress-ports, after allowing neighbour discovery,
//     MLD queries, router advertisements and DHCP replies.
//   - a per-group chain per direction, shared by every port in the group,
//     holds one rule per Neutron rule. Remote groups are interval sets of
//     their members' addresses (fixed IPs and address pairs, of every port
//     in the group on any node) per family, address groups interval sets of
//     their merged CIDRs.
//
// Two inet chains one priority later clear the mark bits again, so other
// software's chains never see them.
//
// Where this differs from ARCHITECTURE.md section 6, and why:
//
//   - egress is filtered in prerouting, after conntrack, and ingress in
//     forward, so one number field serves both directions (the input port
//     is no longer needed once egress is decided, and bridge forward
//     overwrites the field with the output port). Halves of the mark would
//     have needed twice the bits: 16 bits number 65,535 ports, where halves
//     of the 16 bits left free by the common mark users number 255. Egress
//     filtering in prerouting also covers traffic to the host itself, which
//     Neutron's iptables driver filters from INPUT.
//   - a map can only overwrite the whole mark (nftables cannot OR a
//     looked-up value into it on the kernels we support). On the way in
//     that is harmless: a frame entering from a port carries no mark (veth
//     and tap devices clear it; only a tc or netdev ingress hook on the
//     port could have set one). On the way out other software may have
//     marked the packet in its prerouting chains, so per-port one-rule
//     chains write only the number's bits.
//   - `meta ibrname` is not built into this kernel, so the bridge chains
//     clear the number field of frames from non-filtered ports (uplinks,
//     ports without port security) by testing the field, not the bridge.
//
// # Neutron semantics
//
// Rules follow neutron's iptables driver: protocol names, numbers and
// "any"/null (0 matches all, as the driver writes no -p), icmp with IPv6
// means ipv6-icmp, port ranges (1-65535 is all ports), ICMP type and code
// in port_range_min/max, remote_ip_prefix (a /0 matches all),
// remote_group_id and remote_address_group_id. Ingress is denied unless a
// rule allows it; egress is allowed only by rules (the default group has
// egress-to-anywhere rules, see DefaultGroup). Ports with
// port_security_enabled=false and Neutron's trusted ports (device_owner
// network:*: router and DHCP ports) are not filtered at all. A port in no
// group is filtered and drops everything but DHCP and neighbour discovery.
//
// Stateless groups (stateful=false) follow Neutron: the port's packets are
// not tracked, so return traffic needs rules of its own. Packets towards a
// stateless port may be tracked but never become established (its replies
// are untracked); they go through its rules, and are not dropped as
// invalid.
//
// # Apply
//
// Apply validates first (Desired.Validate) and changes nothing if the
// policy is invalid. It then reads the two tables back — one dump each of
// tables, chains, rules (only the content hashes the rules carry in their
// userdata, next to their comment) and sets, one per set of its elements —
// unless nothing changed the ruleset since its own last commit (the
// realizer remembers the state it committed and trusts it only while the
// kernel's ruleset generation is unchanged: any other change, nft by hand
// included, forces a read-back). It compiles the policy, keeping the port
// numbers (the port-marks map) and zones (from the zones
// element comments) the kernel already uses, diffs, and commits the
// difference as one transaction (FlushWithGenID: refused and retried if the
// ruleset changed meanwhile): packets see the old policy or the new one.
// A membership change is a set element; a rule change rewrites that
// group's chain (flush and re-add in the same transaction); a new port is
// its two bridge chains and its elements; a rule deleted by hand is
// restored by rewriting its chain. A second Apply of the same policy makes
// no change.
//
// When a chain loses a rule, a port's groups or statefulness change, or
// remote members leave, Apply then deletes the conntrack entries of the
// flows that may have lost their permission (Neutron does the same with
// conntrack -D): per affected port, in its network's zone, the
// connections towards its addresses (ingress) or from them (egress), or
// with the departed members' addresses. Deleting too much is harmless: a
// flow still allowed is picked up again by conntrack from its next packet.
//
// A Desired without ports on this node needs no tables: Apply deletes both
// (Desired{} is how an agent tears the node down).
//
// # Network logging
//
// Desired.Logs are Neutron's logging API `log` resources; those of
// resource_type security_group are realized, as Neutron's OVS driver
// logs: the first packet of each flow a rule accepts (every packet for
// stateless groups, which have no flows) and every packet no rule allows,
// per port. A log covers the ports named by target_id, the ports of the
// group resource_id (only that group's accepts), both, or every port of its
// project; event ACCEPT, DROP or ALL; enabled=false is no log. For the
// covered ports:
//
//   - set log-accept-<group> holds the marks of the ports whose accepts
//     in that group are logged, and each rule of the group's chains is
//     preceded by the same match plus `meta mark & mask @log-accept-<group>
//     limit rate R/second burst B packets log prefix P group G`;
//   - set log-drop holds the marks of the ports whose drops are logged,
//     matched likewise right before the default drop of port-egress and
//     port-ingress.
//
// Sets keep logging O(change): one more logged port is one element. With
// no log, no log rule or set exists; turning logging off removes them and,
// as log rules grant nothing, clears no conntrack entry. The limit is each
// log rule's own (Neutron's rate_limit and burst_limit, WithRateLimit):
// one budget per group rule and direction, shared by the group's logged
// ports, and one per direction for drops (Neutron's OVS driver has one
// per node, its iptables driver one per port and event).
//
// The prefix P (16 hex digits) names the group, rule, direction and
// verdict; the port is the number in the packet mark, which NFLOG reports.
// The realizer reads NFLOG group G (WithLogGroup, DefaultLogGroup) in the
// host namespace (internal/nflog) while some log covers a port, maps each
// packet back through the plan of its last Apply, and emits a FlowRecord
// — time, log IDs, port, group and rule ("default" for drops), direction,
// verdict, 5-tuple — as one JSON-able slog line (WithFlowLog) and to a
// callback (WithFlowSink); Realizer.FlowStats counts them per verdict.
// The record and line have the firewall realizer's shape (package
// internal/flowlog holds what both share).
//
// Tampering with the bridge table (deleting a port's chain by hand) leaves
// the port unfiltered until the next Apply, as deleting Neutron's iptables
// rules would.
package secgroup
