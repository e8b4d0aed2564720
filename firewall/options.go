package firewall

import (
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/namespace"
)

// Defaults of network logging, Neutron's [network_log] rate_limit and
// burst_limit, which are also their minimums.
const (
	DefaultRateLimit  = flowlog.DefaultRateLimit
	DefaultBurstLimit = flowlog.DefaultBurstLimit
	// DefaultLogGroup is the NFLOG group the log rules send to, in each
	// namespace. Neutron's driver binds group 0 in router namespaces; the
	// host namespace may run other NFLOG readers (ulogd binds the low
	// groups, and a group has one reader), so the default is a number
	// nobody else picks ("NW").
	DefaultLogGroup = 0x4e57
)

// Option configures a Realizer (and the compiler). A bad value makes
// NewRealizer fail.
type Option func(*config) error

type config struct {
	log     *slog.Logger
	prefix  string
	rate    uint32
	burst   uint32
	group   uint16
	sink    func(FlowRecord)
	maxOpen int
	flows   *slog.Logger
}

// WithLogger sets the logger of the realizer's own messages; the default
// discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithPrefix sets the node prefix of the router namespaces
// (<prefix>qrouter-<id>), the same as the router realizer's.
func WithPrefix(nodePrefix string) Option {
	return func(c *config) error {
		c.prefix = nodePrefix
		return namespace.CheckPrefix(nodePrefix)
	}
}

// WithRateLimit sets how many packets per second, with what burst, each
// port's log rules may record per event (Neutron's rate_limit and
// burst_limit, at least 100 and 25).
func WithRateLimit(rate, burst int) Option {
	return func(c *config) error {
		c.rate, c.burst = uint32(rate), uint32(burst)
		return flowlog.CheckLimits(rate, burst)
	}
}

// WithLogGroup sets the NFLOG group (0-65535) of the log rules.
func WithLogGroup(g int) Option {
	return func(c *config) error {
		if err := flowlog.CheckGroup(g); err != nil {
			return err
		}
		c.group = uint16(g)
		return nil
	}
}

// DefaultMaxOpenNamespaces is how many router namespaces the realizer
// keeps open between passes by default.
const DefaultMaxOpenNamespaces = 64

// WithMaxOpenNamespaces sets how many router namespace handles the
// realizer keeps open between passes (default 64). Each holds a namespace
// descriptor and netlink and nftables sockets; the nftables library fails
// on descriptors above 1023, so the limit keeps them few. Routers beyond
// it are opened and closed on each pass.
func WithMaxOpenNamespaces(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return errdefs.Invalid("max_open_namespaces", "%d: must not be negative", n)
		}
		c.maxOpen = n
		return nil
	}
}

// WithFlowLog sets where flow records go as structured lines (one Info
// record per logged packet, message "firewall flow"); the default
// discards them. Give it a slog.NewJSONHandler logger for Neutron-style
// log files.
func WithFlowLog(l *slog.Logger) Option {
	return func(c *config) error {
		c.flows = l
		return nil
	}
}

// WithFlowSink sets a function called with every flow record, from the
// goroutine that reads the router's NFLOG socket: it must not block.
func WithFlowSink(f func(FlowRecord)) Option {
	return func(c *config) error {
		c.sink = f
		return nil
	}
}

func newConfig(opts []Option) (*config, error) {
	c := &config{log: option.Discard(), rate: DefaultRateLimit, burst: DefaultBurstLimit, group: DefaultLogGroup,
		maxOpen: DefaultMaxOpenNamespaces}
	return c, option.Apply(c, opts)
}
