//go:build !linux

package secgroup

import (
	"context"
	"errors"

	"github.com/neutrino-net/neutrino/namespace"
)

// NewRealizer needs Linux (nftables).
func NewRealizer(*namespace.Handle, ...Option) (*Realizer, error) { return nil, errors.ErrUnsupported }

// Apply needs Linux.
func (r *Realizer) Apply(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Plan needs Linux.
func (r *Realizer) Plan(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Close releases nothing.
func (r *Realizer) Close() error { return nil }

// flowReader reads NFLOG, which needs Linux.
type flowReader struct{}
