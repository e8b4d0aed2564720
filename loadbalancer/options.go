package loadbalancer

import (
	"log/slog"

	"github.com/neutrino-net/neutrino/loadbalancer/proxy"
)

// Option configures a Realizer.
type Option func(*options)

type options struct {
	log    *slog.Logger
	prefix string
	proxy  *proxy.Proxy
}

func defaultOptions() options {
	return options{log: slog.New(slog.DiscardHandler)}
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithPrefix sets the node prefix of the load-balancer namespaces
// (<prefix>qlbaas-<id>). The realizer only lists, and removes, namespaces
// carrying it.
func WithPrefix(nodePrefix string) Option { return func(o *options) { o.prefix = nodePrefix } }

// WithProxy shares an agent's proxy between realizers (default: the
// realizer makes its own and closes it on Close; a shared one is the
// caller's to close).
func WithProxy(p *proxy.Proxy) Option { return func(o *options) { o.proxy = p } }
