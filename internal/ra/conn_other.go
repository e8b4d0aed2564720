//go:build !linux

package ra

import (
	"context"
	"errors"
	"net/netip"

	"github.com/neutrino-net/neutrino/namespace"
)

// RawConn is a raw ICMPv6 socket; only Linux has one here.
type RawConn struct{}

// Listen is unsupported off Linux.
func Listen(string) (*RawConn, error) { return nil, errors.ErrUnsupported }

// ReadFrom implements Conn.
func (*RawConn) ReadFrom(context.Context, []byte) (int, int, netip.Addr, error) {
	return 0, 0, netip.Addr{}, errors.ErrUnsupported
}

// WriteTo implements Conn.
func (*RawConn) WriteTo(context.Context, []byte, netip.Addr, netip.Addr) error {
	return errors.ErrUnsupported
}

// Close implements Conn.
func (*RawConn) Close() error { return nil }

// NamespaceID is 0 off Linux.
func NamespaceID(*namespace.Handle) uint64 { return 0 }
