package network

import (
	"context"
	"sync"

	"github.com/neutrino-net/neutrino/internal/converge"
	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/namespace"
)

// Realizer makes a host's bridges, VXLAN and VLAN devices and l2population
// entries match a Desired state. It is safe for concurrent use; Applies run
// one at a time.
type Realizer struct {
	host *namespace.Handle
	cfg  config
	mu   sync.Mutex
}

// NewRealizer returns a Realizer working in host, the node's namespace.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	if host == nil {
		return nil, errdefs.Invalid("host", "a host namespace handle is required")
	}
	cfg := defaultConfig()
	if err := option.Apply(&cfg, opts); err != nil {
		return nil, err
	}
	return &Realizer{host: host, cfg: cfg}, nil
}

// Apply converges the host to d: it creates and repairs what d needs and
// deletes the bridges, VXLAN and VLAN devices it owns that d no longer needs.
// An invalid d changes nothing. A network that cannot be realized (a foreign
// device with its bridge's name, a missing physical interface) does not stop
// the others: the error joins one error per failed network, and the Report
// says what was done. The Report is never nil.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, converge.Apply)
}

// Plan returns the Report Apply would give now, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, converge.Plan)
}

// Close releases nothing today: the Realizer holds no resources of its own
// (the host handle is the caller's). It is here so that every realizer
// closes the same way.
func (r *Realizer) Close() error { return nil }

func (r *Realizer) run(ctx context.Context, d Desired, mode converge.Mode) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return converge.Run(ctx, mode, converge.Steps[*want, *observed, op]{
		Name:     "network",
		Log:      r.cfg.log,
		Validate: d.validate,
		Observe: func(ctx context.Context, w *want) (*observed, func(), error) {
			o, err := r.observe(ctx, w)
			return o, nil, err
		},
		Plan:  func(w *want, o *observed, _ converge.Mode) ([]change, error) { return plan(&r.cfg, w, o) },
		Do:    r.executor,
		Attrs: func(w *want) []any { return []any{"networks", len(w.networks)} },
	})
}
