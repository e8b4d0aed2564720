package dhcp

import (
	"log/slog"
	"sync"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/namespace"
)

// ownerKind is the ownership alias of both ends of a DHCP port's veth pair.
const ownerKind = "dhcp-port"

// Owner names the DHCP realizer in temporary device names (nl.TempName).
const Owner = "dhcp"

// Option configures a Realizer. A bad value makes NewRealizer fail.
type Option func(*config) error

type config struct {
	log      *slog.Logger
	prefix   string
	hostName string
	settings Settings
}

// WithLogger sets the logger of the realizer and of its servers (every DHCP
// decision is logged at debug level).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithPrefix sets the node prefix of the qdhcp namespaces the realizer
// creates and garbage-collects.
func WithPrefix(prefix string) Option {
	return func(c *config) error {
		c.prefix = prefix
		return namespace.CheckPrefix(prefix)
	}
}

// WithHost serves only the DHCP ports whose binding:host_id is name. Without
// it every network:dhcp port in the desired state is served here.
func WithHost(name string) Option {
	return func(c *config) error { c.hostName = name; return nil }
}

// WithSettings sets the agent-wide DHCP settings (lease time, DNS domain,
// isolated metadata); the zero Settings are Neutron's defaults.
func WithSettings(s Settings) Option {
	return func(c *config) error { c.settings = s; return nil }
}

// Realizer runs one DHCP server per network whose DHCP port is bound to this
// node, each in its own qdhcp namespace plugged into the network's bridge.
// It owns the servers it started: Close stops them and leaves the kernel
// state, which the next Realizer (after an agent restart) takes over.
type Realizer struct {
	host *namespace.Handle
	config
	mgr *namespace.Manager

	mu      sync.Mutex // one Apply at a time
	servers map[string]*running
	closed  bool
}

// running is a server the realizer started, and what it was started on.
type running struct {
	srv    *Server
	portID string
	dev    devID
}

// devID identifies the device a server's sockets are bound to: a device
// recreated, or recreated in a recreated namespace (where it may well get
// the same ifindex), needs a new server.
type devID struct {
	ns      uint64 // inode of the namespace
	ifindex int
}

// NewRealizer returns a DHCP realizer for the node whose namespace is host.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	if host == nil {
		return nil, errdefs.Invalid("host", "a host namespace handle is required")
	}
	r := &Realizer{host: host, config: config{log: option.Discard()}, servers: map[string]*running{}}
	if err := option.Apply(&r.config, opts); err != nil {
		return nil, err
	}
	r.mgr = namespace.NewManager(r.prefix)
	return r, nil
}

// Stats returns the counters of the servers running now, by network ID.
// A server restarted (its device or namespace recreated) starts from zero.
func (r *Realizer) Stats() map[string]Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Stats, len(r.servers))
	for id, s := range r.servers {
		out[id] = s.srv.Stats()
	}
	return out
}
