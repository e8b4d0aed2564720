//go:build !linux

package firewall

import (
	"context"
	"errors"

	"github.com/neutrino-net/neutrino/namespace"
)

// NewRealizer returns errors.ErrUnsupported: firewalls are realized with
// Linux nftables.
func NewRealizer(*namespace.Handle, ...Option) (*Realizer, error) { return nil, errors.ErrUnsupported }

// Apply returns errors.ErrUnsupported.
func (r *Realizer) Apply(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Plan returns errors.ErrUnsupported.
func (r *Realizer) Plan(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Close does nothing.
func (r *Realizer) Close() error { return nil }

// listener reads NFLOG on Linux only.
type listener struct{}
