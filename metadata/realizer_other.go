//go:build !linux

package metadata

import (
	"context"
	"errors"

	"github.com/neutrino-net/neutrino/internal/report"
)

// Report counts listeners opened and closed.
type Report = report.Report

// Realizer needs Linux network namespaces.
type Realizer struct{}

// NewRealizer returns errors.ErrUnsupported off Linux.
func NewRealizer(Config, ...Option) (*Realizer, error) { return nil, errors.ErrUnsupported }

// Apply returns errors.ErrUnsupported off Linux.
func (*Realizer) Apply(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// Plan returns errors.ErrUnsupported off Linux.
func (*Realizer) Plan(context.Context, Desired) (*Report, error) {
	return &Report{}, errors.ErrUnsupported
}

// RouterPort is 0 off Linux.
func (*Realizer) RouterPort() uint16 { return 0 }

// Stats is empty off Linux.
func (*Realizer) Stats() Stats { return Stats{} }

// Close does nothing off Linux.
func (*Realizer) Close() error { return nil }
