//go:build !linux

package dhcp

import (
	"context"
	"errors"
)

// Apply is Linux-only.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Plan is Linux-only.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Close stops nothing: no server runs on this platform.
func (r *Realizer) Close() error { return nil }
