package metadata

import (
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/namespace"
)

// Option configures a Realizer. A bad value makes NewRealizer fail.
type Option func(*options) error

type options struct {
	log      *slog.Logger
	prefix   string
	upstream *namespace.Handle
}

func newOptions(opts []Option) (options, error) {
	o := options{log: option.Discard()}
	return o, option.Apply(&o, opts)
}

// WithLogger sets the logger (default: discard). The shared secret is
// never logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithPrefix sets the node prefix of the qrouter-/qdhcp- namespaces.
func WithPrefix(p string) Option {
	return func(o *options) error {
		if err := namespace.CheckPrefix(p); err != nil {
			return err
		}
		o.prefix = p
		return nil
	}
}

// WithUpstreamNamespace makes connections to Nova from namespace h (the
// node's namespace when the process runs elsewhere; a lab namespace in
// tests). Default: the namespace the process runs in.
func WithUpstreamNamespace(h *namespace.Handle) Option {
	return func(o *options) error {
		o.upstream = h
		return nil
	}
}
