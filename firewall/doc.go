// Package firewall models Neutron's firewall as a service (FWaaS v2:
// firewall_groups, firewall_policies, firewall_rules) and network logging
// (the logging API's logs), compiles them into nftables objects and
// realizes them on a node's router ports and instance ports.
//
// # What it realizes, and where
//
// Realizer.Apply makes each router namespace (<prefix>qrouter-<router id>,
// made by the router realizer) enforce the firewall groups of its ports:
// router interface ports (device qr-<port id[:11]>) and gateway ports
// (qg-<port id[:11]>, our extension: Neutron accepts only interfaces);
// and the host namespace those of its instance ports (compute:*). It owns exactly one table in each, `table inet
// neutrino-fw`, and never reads or writes another: the router's NAT table
// `inet neutrino-router`, the security groups' `inet neutrino` and any
// foreign table stay as they are. For instance ports it also sets
// net.bridge.bridge-nf-call-iptables and -ip6tables to 1 in the host
// namespace, as the security group realizer does. All code that touches
// the kernel is in *_linux.go files; elsewhere NewRealizer returns
// errors.ErrUnsupported.
//
// # The design
//
// Decision is separated from realization as in package secgroup: a pure
// compiler turns a valid Desired into an intermediate form (tables of
// chains of rules made of terms, rendered as nft text), diffing compares
// it with what the kernel holds (content hashes stored in each rule's
// userdata, with the rule handles), and lowering turns the difference into
// one nftables transaction per namespace: packets see the old policy or
// the new one, never none.
//
// The table has one base chain, forward (hook forward, priority filter,
// policy accept), holding per protected port
//
//	iifname "qr-…" jump egress-<group id>
//	oifname "qr-…" jump ingress-<group id>
//
// and a chain per group and direction, shared by the group's ports in
// that router:
//
//	ct state invalid drop
//	ct state established,related return
//	<the enabled rules of the policy, in order: allow → return,
//	 deny → drop, reject → reject with tcp reset (tcp) or
//	 reject with icmpx port-unreachable (other protocols; both for "any")>
//	drop
//
// An allowed packet returns to the base chain, so a packet between two
// protected ports passes the egress policy of one and the ingress policy
// of the other. A side without a policy passes only replies. A group that
// is down drops everything on its ports (base-chain drops, no jumps), as
// Neutron's driver does. Directions follow Neutron, seen from the port's
// network: ingress is what enters the network through the port (out of
// the router, from the instance), egress what leaves it through the port
// (into the router, to the instance) — Neutron's iptables driver filters
// ingress with -o on qr- devices, and its OVS driver applies a group's
// egress rules to traffic towards the instance.
//
// The forward hook runs after the router's DNAT and before its SNAT, as
// Neutron's FORWARD chain does: a rule about a floating IP's traffic names
// the fixed address behind it.
//
// Instance ports are filtered in the host namespace's table. Their
// packets are bridged, and in inet hooks a bridged packet shows the bridge
// as iifname and oifname (ARCHITECTURE.md §6), so the port is selected by
// its network's bridge and its addresses (fixed IPs and allowed address
// pairs): `iifname "brq…" ip saddr <address> jump ingress-<group>` and
// `oifname "brq…" ip daddr <address> jump egress-<group>`. This is simpler
// than secgroup's packet-mark port numbers (whose bits secgroup sets and
// clears around its own chains) and correct where secgroup's anti-spoofing
// runs: no other port can send from the port's addresses, and the bridge
// tells overlapping tenant address spaces apart. Their group chains also
// pass neighbour discovery and DHCP between the port and its server, as
// Neutron's OVS firewall does, and reject drops there (the host namespace
// has no route to answer bridged traffic on; Neutron's OVS driver drops
// for reject too). A newly protected instance port cuts the conntrack
// entries of its addresses only.
//
// A rule change costs what changed: the common head and tail of each
// chain stay, the middle is deleted and reinserted by handle (one rule
// changed is one rule deleted and one added, whatever the chain's length).
// After a commit, the conntrack entries of flows that may have lost their
// permission are deleted in the router namespace, as Neutron does with
// conntrack -D: those matching a removed allow rule or an added deny or
// reject rule (protocol, addresses, ports); all of them when a port newly
// becomes protected (Neutron flushes on group creation) or when a removed
// rule was written by an earlier process (its content is unknown).
//
// # Apply
//
// Apply validates first and changes nothing if the desired state is
// invalid. It visits the namespaces that need a table and those it wrote
// one in (on its first pass, every router namespace of the node prefix and
// the host namespace, so tables left by an earlier process are found). A
// table is read back (one dump each of chains, objects and rules, the
// rules as handles and hashes only) unless nothing changed the
// namespace's ruleset since this realizer's own last commit: the ruleset
// generation counts every commit, nft by hand included, so a no-op pass
// costs one generation read per namespace. The commit carries the
// generation the plan was read at; the kernel refuses it if someone
// committed meanwhile, and the pass reads again (up to three times).
// Namespace handles are kept between passes (WithMaxOpenNamespaces) and
// checked against the namespace's path on every use. A router whose
// namespace is missing is an error for that router alone (the router
// realizer makes it); a Plan reports its table as to be created.
//
// # Network logging
//
// A log (resource_type firewall_group) covers the ports of its
// resource_id group, or its target_id port, or every firewall group of its
// project. For every covered port and every verdict its event asks for
// (ACCEPT, DROP, ALL), a log rule with the same matches precedes the
// verdict rule:
//
//	oifname "qr-…" <matches> limit name "log-qr-…-accept" log prefix "<16 hex digits>" group 20055
//
// (for an instance port, one rule per address with the bridge and address
// matches instead of the device)
//
// Accepted packets are logged when a flow starts (established packets
// return earlier); dropped ones each time, including invalid packets, the
// default drop and a group that is down. The limit object is shared by
// every log rule of the port and event: Neutron's rate_limit and
// burst_limit (WithRateLimit, at least 100/s and 25) cap what a flood
// logs. The prefix is a hash of (router, port, direction, rule, verdict),
// stable across restarts. The realizer reads the NFLOG group (internal/
// nflog) in each router namespace, and the host namespace, that has log
// rules: one socket and goroutine per namespace, bound by Apply, closed
// when the namespace no longer logs or by Close. It maps each packet's
// prefix back to the log IDs, port, group and rule, parses its 5-tuple,
// and emits a FlowRecord: to WithFlowLog as
// one structured line ("firewall flow", with log_ids, port_id,
// firewall_group_id, rule_id, direction, action and the 5-tuple) and to
// WithFlowSink. Realizer.FlowStats counts them. With no log, no log rule
// exists.
//
// # What is not realized yet, and limits
//
// Logs of resource_type security_group are passed over: the secgroup
// realizer checks (secgroup.ValidateLogs) and realizes them, with the same
// Log type, record shape and NFLOG reader (internal/flowlog,
// internal/nflog) but its own NFLOG group in the host namespace, since a
// group has one reader per namespace. Neutron's quota and sharing
// rules (project ownership of rules put into policies) are the API
// server's and are not checked. Each namespace with flow logs holds one
// NFLOG socket for as long as it logs; on a node with hundreds of logging
// routers those descriptors count against the 1024 below which the
// nftables library needs its sockets (PITFALLS.md).
package firewall
