package secgroup

import (
	"log/slog"
	"math/bits"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/internal/option"
)

// DefaultMarkMask is the part of the packet mark that carries port numbers
// between the bridge table and the inet table: the upper 16 bits, so up to
// 65,535 filtered ports per node. The lower 16 bits are left alone because
// that is where the common users put theirs: kube-proxy (0x4000, 0x8000),
// Neutron's L3 agent (0xffff), wg-quick (0xca6c), Istio (0x539), netavark
// (0x2000). Calico (0xffff0000 by default) and Tailscale (0xff0000) overlap:
// on such a node choose another mask with WithMarkMask. Only bridged
// packets of Neutrino's bridges carry the bits, and only between the
// bridge-family hooks and the inet filter chains, which clear them.
const DefaultMarkMask uint32 = 0xffff0000

// Option configures a Realizer (and Compile). A bad value makes
// NewRealizer fail.
type Option func(*config) error

type config struct {
	log   *slog.Logger
	mask  uint32
	shift uint
	// Flow logging.
	rate, burst uint32
	group       uint16
	flows       *slog.Logger
	sink        func(FlowRecord)
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithMarkMask sets the packet-mark bits that carry port numbers (see
// DefaultMarkMask). The mask must be one run of at least 8 contiguous bits;
// a run of n bits numbers up to 2^n-1 filtered ports.
func WithMarkMask(mask uint32) Option {
	return func(c *config) error {
		shift := uint(bits.TrailingZeros32(mask))
		width := bits.OnesCount32(mask)
		if mask == 0 || width < 8 || (mask>>shift)&((mask>>shift)+1) != 0 {
			return errdefs.Invalid("mark_mask", "0x%08x is not one run of at least 8 contiguous bits", mask)
		}
		c.mask, c.shift = mask, shift
		return nil
	}
}

// DefaultLogGroup is the NFLOG group the log rules send to in the host
// namespace: one the firewall realizer (which also reads the host
// namespace, for instance ports) and ulogd (the low groups) do not bind,
// since a group has one reader per namespace ("NS").
const DefaultLogGroup = 0x4e53

// WithRateLimit sets how many packets per second, with what burst, each
// log rule may record (Neutron's [network_log] rate_limit and
// burst_limit, at least 100 and 25, the defaults). Each rule has its own
// budget: one per security group rule and direction, shared by the
// group's logged ports, and one per direction for dropped packets.
func WithRateLimit(rate, burst int) Option {
	return func(c *config) error {
		c.rate, c.burst = uint32(rate), uint32(burst)
		return flowlog.CheckLimits(rate, burst)
	}
}

// WithLogGroup sets the NFLOG group (0-65535) of the log rules
// (DefaultLogGroup).
func WithLogGroup(g int) Option {
	return func(c *config) error {
		c.group = uint16(g)
		return flowlog.CheckGroup(g)
	}
}

// WithFlowLog sets where flow records go as structured lines (one Info
// record per logged packet, message "security group flow"); the default
// discards them. Give it a slog.NewJSONHandler logger for Neutron-style
// log files.
func WithFlowLog(l *slog.Logger) Option {
	return func(c *config) error {
		c.flows = l
		return nil
	}
}

// WithFlowSink sets a function called with every flow record, from the
// goroutine that reads the NFLOG socket: it must not block.
func WithFlowSink(f func(FlowRecord)) Option {
	return func(c *config) error {
		c.sink = f
		return nil
	}
}

func newConfig(opts []Option) (*config, error) {
	c := &config{log: option.Discard(), mask: DefaultMarkMask, shift: 16,
		rate: flowlog.DefaultRateLimit, burst: flowlog.DefaultBurstLimit, group: DefaultLogGroup}
	if err := option.Apply(c, opts); err != nil {
		return nil, err
	}
	return c, nil
}

// maxPort is the highest port number the mask can carry.
func (c *config) maxPort() uint32 { return c.mask >> c.shift }

// markOf is the mark field value of port number n.
func (c *config) markOf(n uint32) uint32 { return n << c.shift }
