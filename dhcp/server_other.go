//go:build !linux

package dhcp

import (
	"errors"

	"github.com/neutrino-net/neutrino/namespace"
)

// NewServer is Linux-only: it binds sockets to a device inside a network
// namespace.
func NewServer(ns *namespace.Handle, cfg *Config, opts ...ServerOption) (*Server, error) {
	return nil, errors.ErrUnsupported
}
