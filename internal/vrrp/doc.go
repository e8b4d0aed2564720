// Package vrrp speaks VRRP version 3 (RFC 5798) for IPv4, the protocol
// keepalived runs between the members of a Neutron HA router.
//
// It has three layers, each usable alone:
//
//   - Packet, Marshal and Parse: the advertisement on the wire, with the
//     checksum over the IPv4 pseudo-header that RFC 5798 §5.2.8 asks for
//     (and keepalived computes).
//   - Machine: the protocol's state machine (Initialize, Backup, Master;
//     priority, preemption, the Master_Down timer of 3 × the master's
//     advertisement interval plus the skew time) as a pure value driven by
//     events that carry the time, so tests need no clock and no sockets.
//   - Instance: a Machine run against a Conn (the raw IP protocol 112 socket
//     of conn_linux.go, or a fake) and a clock, calling back on transitions.
//
// Intervals are kept in centiseconds, the unit of the wire format, so 0.1 s
// advertisements (sub-second failover) work as well as Neutron's 2 s.
package vrrp
