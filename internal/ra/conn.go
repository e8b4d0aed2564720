package ra

import (
	"context"
	"net/netip"
)

// Conn is an ICMPv6 socket bound to one interface: what an advertiser
// needs from the kernel. Listen opens the real one; tests inject their own.
type Conn interface {
	// ReadFrom blocks until a router solicitation arrives on the interface
	// (other ICMPv6 types may be filtered out by the socket) and returns
	// the ICMPv6 message, the hop limit it arrived with and its source.
	ReadFrom(ctx context.Context, b []byte) (n, hopLimit int, src netip.Addr, err error)
	// WriteTo sends an ICMPv6 message from src (a link-local address of
	// the interface) to dst with hop limit 255; the kernel fills in the
	// checksum.
	WriteTo(ctx context.Context, b []byte, src, dst netip.Addr) error
	// Close releases the socket; a blocked ReadFrom returns.
	Close() error
}

// The link-scope multicast groups of neighbour discovery.
var (
	allNodes   = netip.MustParseAddr("ff02::1")
	allRouters = netip.MustParseAddr("ff02::2")
)

// HopLimit is the hop limit of every neighbour discovery message: a
// receiver drops one with any other, so it cannot come from off-link.
const HopLimit = 255
