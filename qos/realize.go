package qos

import (
	"context"
	"log/slog"
	"sync"

	"github.com/neutrino-net/neutrino/internal/converge"
	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// Report is the shared Report, with the kinds "qdisc" (a root tbf), "table"
// and "rule" (the bridge-family table and its policer and DSCP rules).
type Report = report.Report

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

// Realizer applies QoS policies to the instance ports of one node. It is
// safe for concurrent use; Applies run one at a time. Realize ports first
// (package port): the policies go on their devices.
type Realizer struct {
	host *namespace.Handle
	config
	mu sync.Mutex
}

// NewRealizer returns a Realizer working in host, the node's namespace.
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

// Apply converges the node's QoS to d: shapers and policers of the ports'
// policies are created, changed and removed, and nothing of ports without
// a policy remains. An invalid d changes nothing. The Report is never nil.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, converge.Apply)
}

// Plan returns the Report Apply would give now, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, converge.Plan)
}

// Close releases nothing: every pass opens what it reads.
func (r *Realizer) Close() error { return nil }

func (r *Realizer) run(ctx context.Context, d Desired, mode converge.Mode) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return converge.Run(ctx, mode, converge.Steps[*want, *observed, op]{
		Name: "qos",
		Log:  r.log,
		Validate: func() (*want, error) {
			w, err := d.validate()
			if err != nil {
				return nil, err
			}
			for _, s := range w.unenforced {
				r.log.Warn(s)
			}
			return w, nil
		},
		Observe: func(ctx context.Context, w *want) (*observed, func(), error) {
			o, err := r.observe(w)
			return o, nil, err
		},
		Plan:  func(w *want, o *observed, m converge.Mode) ([]change, error) { return plan(w, o, m == converge.Plan) },
		Do:    func(o *observed) func(op) error { return r.executor(o) },
		Attrs: func(w *want) []any { return []any{"ports", len(w.ports)} },
	})
}
