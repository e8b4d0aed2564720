//go:build !linux

package router

import (
	"context"
	"errors"

	"github.com/neutrino-net/neutrino/namespace"
)

// Realizer makes a node's routers match a Desired; routers are realized on
// Linux only.
type Realizer struct{}

// NewRealizer is unsupported off Linux.
func NewRealizer(*namespace.Handle, ...Option) (*Realizer, error) { return nil, errors.ErrUnsupported }

// Apply is unsupported off Linux.
func (r *Realizer) Apply(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Plan is unsupported off Linux.
func (r *Realizer) Plan(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Wait returns at once off Linux.
func (r *Realizer) Wait() {}

// Close is a no-op off Linux.
func (r *Realizer) Close() error { return nil }
