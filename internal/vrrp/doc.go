// Package vrrp speaks VRRP version 3 (RFC 5798), the protocol keepalived
// runs between the members of a Neutron HA router.
//
// It has three layers, each usable alone:
//
//   - Packet, Marshal and Parse: the advertisement on the wire, for IPv4 and
//     IPv6, with the checksum over the pseudo-header that RFC 5798 §5.2.8
//     asks for (and keepalived computes).
//   - Machine: the protocol's state machine (Initialize, Backup, Master;
//     priority, preemption, the Master_Down timer of 3 × the master's
//     advertisement interval plus the skew time) as a pure value driven by
//     events that carry the time, so tests need no clock and no sockets.
//   - Instance: a Machine run against a Conn and calling back on
//     transitions. RawConn (Listen) is the IPv4 Conn: a raw IP protocol 112
//     socket opened inside a namespace on one device, joined to
//     224.0.0.18, TTL 255, with a BPF filter so that each socket parses only
//     its own VRID's advertisements (n routers on one HA network would
//     otherwise each parse all n routers' traffic). There is no IPv6 socket
//     yet.
//
// Intervals are kept in centiseconds, the unit of the wire format, so 0.1 s
// advertisements (sub-second failover) work as well as Neutron's 2 s.
// keepalived 2.2 peers with it (the interop tests), in both directions and
// with priorities and preemption.
package vrrp
