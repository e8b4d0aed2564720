package port

import (
	"context"
	"log/slog"
	"sync"

	"github.com/neutrino-net/neutrino/internal/converge"
	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/subnet"
)

// Report is the network realizer's Report, with the kinds "port" (a host
// device and, for a veth, its instance end and initial addresses), "address"
// and "route" (later changes inside an instance namespace).
type Report = network.Report

// Desired is what the port realizer plugs on one host. L2ForHost builds it.
type Desired struct {
	// Ports are the instance ports bound to this host. Ports that other
	// realizers plug (PlugsInstance false) are ignored.
	Ports []Port
	// Networks are the ports' networks: their MTU and bridge. MTU must be
	// set (network.Defaults).
	Networks []network.Network
	// Subnets are the ports' subnets, read for the prefix length and the
	// gateway of addresses configured with binding:profile configure_ips.
	Subnets []subnet.Subnet
}

// Option configures a Realizer. A bad value makes NewRealizer fail.
type Option func(*config) error

type config struct {
	log *slog.Logger
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

// Realizer plugs instance ports into their networks' bridges on one host. It
// is safe for concurrent use; Applies run one at a time.
type Realizer struct {
	host *namespace.Handle
	config
	mu sync.Mutex
}

// NewRealizer returns a Realizer working in host, the node's namespace, where
// the network realizer made the bridges.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	if host == nil {
		return nil, errdefs.Invalid("host", "a host namespace handle is required")
	}
	r := &Realizer{host: host, config: config{log: option.Discard()}}
	if err := option.Apply(&r.config, opts); err != nil {
		return nil, err
	}
	return r, nil
}

// Apply converges the host to d: it creates and repairs the devices of d's
// ports and deletes the port devices it owns that d no longer lists. An
// invalid d changes nothing. A port that cannot be plugged (its namespace is
// missing, a foreign device has its name, its bridge does not exist) does
// not stop the others: the error joins one error per failed port. The
// Report is never nil.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, converge.Apply)
}

// Plan returns the Report Apply would give now, changing nothing. A port
// whose bridge does not exist yet is planned as if the network realizer had
// made it, as it does first when a node applies a topology.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, converge.Plan)
}

// Close releases nothing today: instance namespaces are opened and closed
// within each pass. It is here so that every realizer closes the same way.
func (r *Realizer) Close() error { return nil }

func (r *Realizer) run(ctx context.Context, d Desired, mode converge.Mode) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return converge.Run(ctx, mode, converge.Steps[*want, *observed, op]{
		Name:     "port",
		Log:      r.log,
		Validate: d.validate,
		Observe: func(ctx context.Context, w *want) (*observed, func(), error) {
			o, err := r.observe(ctx, w)
			if err != nil {
				return nil, nil, err
			}
			return o, o.close, nil
		},
		Plan:  func(w *want, o *observed, m converge.Mode) ([]change, error) { return plan(w, o, m == converge.Plan) },
		Do:    func(o *observed) func(op) error { return r.executor(o).do },
		Attrs: func(w *want) []any { return []any{"ports", len(w.ports)} },
	})
}
