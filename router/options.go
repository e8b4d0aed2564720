package router

import (
	"log/slog"
	"time"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/namespace"
)

// Defaults of the gratuitous ARP burst: three rounds of an ARP request and
// an ARP reply, one second apart. Neutron sends three rounds two seconds
// apart through arping processes; in-process sending has no reason to wait
// longer than the one second some kernels need between announcements.
const (
	DefaultGARPCount    = 3
	DefaultGARPInterval = time.Second
)

// Option configures a Realizer. A bad value makes NewRealizer fail.
type Option func(*options) error

type options struct {
	log          *slog.Logger
	prefix       string
	garpCount    int
	garpInterval time.Duration
	randomFully  bool
	workers      int
	maxOpen      int
	ra           raOptions
	metadataPort uint16 // metadata.go
}

func defaultOptions() options {
	return options{
		log:          option.Discard(),
		garpCount:    DefaultGARPCount,
		garpInterval: DefaultGARPInterval,
		randomFully:  true,
		workers:      4,
		maxOpen:      DefaultMaxOpenNamespaces,
	}
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

// WithPrefix sets the node prefix of the router namespaces
// (<prefix>qrouter-<id>). The realizer only lists, and removes, namespaces
// carrying it.
func WithPrefix(nodePrefix string) Option {
	return func(o *options) error {
		o.prefix = nodePrefix
		return namespace.CheckPrefix(nodePrefix)
	}
}

// WithGARP sets the gratuitous ARP burst sent when an address appears on a
// router interface: count rounds (each an ARP request and an ARP reply)
// interval apart. A count of 0 turns gratuitous ARP off.
func WithGARP(count int, interval time.Duration) Option {
	return func(o *options) error {
		if count < 0 || interval < 0 {
			return errdefs.Invalid("garp", "count %d and interval %v must not be negative", count, interval)
		}
		o.garpCount, o.garpInterval = count, interval
		return nil
	}
}

// WithRandomFully sets whether source NAT picks ports fully at random
// (default true, as Neutron's use_random_fully), which avoids port
// collisions between flows of different instances behind one address.
func WithRandomFully(on bool) Option {
	return func(o *options) error { o.randomFully = on; return nil }
}

// WithWorkers sets how many routers are realized concurrently (default 4).
// Routers are independent: each has its own namespace and sockets.
func WithWorkers(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return errdefs.Invalid("workers", "%d: at least one router must be realized at a time", n)
		}
		o.workers = n
		return nil
	}
}

// DefaultMaxOpenNamespaces is how many router namespaces a realizer keeps
// open between passes by default.
const DefaultMaxOpenNamespaces = 128

// WithMaxOpenNamespaces sets how many router namespaces the realizer keeps
// open between passes (default 128). An open namespace saves reopening its
// sockets and files and rereading an unchanged NAT table on every pass, but
// holds five file descriptors numbered below 1024, and the nftables library
// fails on descriptors above 1023; routers beyond the limit are opened and
// closed on each pass.
func WithMaxOpenNamespaces(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return errdefs.Invalid("max_open_namespaces", "%d must not be negative", n)
		}
		o.maxOpen = n
		return nil
	}
}
