// Package secgroup models Neutron security groups, rules and address groups,
// compiles them with port security into nftables objects and realizes them on
// a node: stateful filtering of bridged traffic in an inet table, per-port
// chains dispatched by verdict maps, per-group chains, remote groups as sets.
package secgroup
