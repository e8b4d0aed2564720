package loadbalancer

import (
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/loadbalancer/proxy"
	"github.com/neutrino-net/neutrino/namespace"
)

// Option configures a Realizer. A bad value makes NewRealizer fail.
type Option func(*options) error

type options struct {
	log    *slog.Logger
	prefix string
	proxy  *proxy.Proxy
}

func newOptions(opts []Option) (options, error) {
	o := options{log: option.Discard()}
	return o, option.Apply(&o, opts)
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l != nil {
			o.log = l
		}
		return nil
	}
}

// WithPrefix sets the node prefix of the load-balancer namespaces
// (<prefix>qlbaas-<id>). The realizer only lists, and removes, namespaces
// carrying it.
func WithPrefix(nodePrefix string) Option {
	return func(o *options) error {
		if err := namespace.CheckPrefix(nodePrefix); err != nil {
			return err
		}
		o.prefix = nodePrefix
		return nil
	}
}

// WithProxy shares an agent's proxy between realizers (default: the
// realizer makes its own and closes it on Close; a shared one is the
// caller's to close).
func WithProxy(p *proxy.Proxy) Option {
	return func(o *options) error {
		o.proxy = p
		return nil
	}
}
