//go:build !linux

package metadata

import (
	"context"
	"errors"
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// Report counts listeners opened and closed.
type Report = report.Report

// Option configures a Realizer.
type Option func(*options)

type options struct {
	log    *slog.Logger
	prefix string
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithPrefix sets the node prefix of the namespaces.
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithUpstreamNamespace sets the namespace Nova is reached from.
func WithUpstreamNamespace(*namespace.Handle) Option { return func(*options) {} }

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
