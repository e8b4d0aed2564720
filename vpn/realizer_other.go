//go:build !linux

package vpn

import (
	"context"
	"errors"

	"github.com/neutrino-net/neutrino/namespace"
)

// NewRealizer returns errors.ErrUnsupported: charon runs in Linux network
// namespaces.
func NewRealizer(*namespace.Handle, ...Option) (*Realizer, error) { return nil, errors.ErrUnsupported }

// Apply returns errors.ErrUnsupported.
func (r *Realizer) Apply(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Plan returns errors.ErrUnsupported.
func (r *Realizer) Plan(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Destroy returns errors.ErrUnsupported.
func (r *Realizer) Destroy(context.Context) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Close does nothing.
func (r *Realizer) Close() error { return nil }

// daemon runs on Linux only.
type daemon struct{}
