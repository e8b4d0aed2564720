//go:build !linux

package loadbalancer

import (
	"context"
	"errors"

	"github.com/neutrino-net/neutrino/namespace"
)

// Realizer realizes load balancers; only on Linux.
type Realizer struct{}

// NewRealizer returns errors.ErrUnsupported off Linux.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	return nil, errors.ErrUnsupported
}

// Apply returns errors.ErrUnsupported off Linux.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return newReport(), errors.ErrUnsupported
}

// Plan returns errors.ErrUnsupported off Linux.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return newReport(), errors.ErrUnsupported
}

// Close does nothing off Linux.
func (r *Realizer) Close() error { return nil }

// Status returns nothing off Linux.
func (r *Realizer) Status() map[string]Status { return nil }
