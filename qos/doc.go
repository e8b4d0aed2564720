// Package qos models Neutron QoS policies (qos_policies with
// bandwidth_limit_rules, dscp_marking_rules and minimum_bandwidth_rules) and
// realizes them on the instance ports of a node, as Neutron's Linux bridge
// agent does, through netlink and nftables only.
//
// A port's policy is its own qos_policy_id or, when it has none, its
// network's (a network's policy does not apply to ports the network owns:
// routers, DHCP). For each instance port with a policy, on its host-side
// device tap<port-id[:11]> (package port):
//
//   - a bandwidth limit in direction "ingress" (toward the instance) is a
//     tbf qdisc at the device's root: rate max_kbps, burst max_burst_kbps
//     (80 % of max_kbps when 0, as the Linux bridge agent does), latency
//     50 ms. Its handle is 0x4e51: a root qdisc with another handle is not
//     ours and is left alone (an error for that port);
//   - a bandwidth limit in direction "egress" (from the instance) is a
//     policer: this kernel has no tc police action, so it is an nftables
//     `limit rate over` … `drop` in the bridge-family table neutrino-qos,
//     matching the frames the device brings into the bridge;
//   - a DSCP marking rule sets the DSCP of the instance's IPv4 and IPv6
//     packets in the same table (ECN bits kept, IPv4 checksum updated);
//   - a minimum bandwidth rule is reported, not enforced (Desired.Unenforced
//     and a warning per pass), as with the Linux bridge agent.
//
// Rules in the table carry a comment that spells every parameter, so a
// change of one port's policy deletes and adds that port's rules only;
// removing a policy restores the port's full rate.
package qos
