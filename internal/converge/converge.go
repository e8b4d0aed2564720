package converge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/report"
)

// Mode says whether a pass changes the kernel (Apply) or only reports what
// it would change (Plan).
type Mode int

const (
	// Apply executes the plan.
	Apply Mode = iota
	// Plan reports the plan, changing nothing.
	Plan
)

func (m Mode) String() string {
	if m == Plan {
		return "plan"
	}
	return "apply"
}

// Change is one line of a Report: one object created, updated or deleted by
// a few operations of type Op, run in order.
type Change[Op any] struct {
	// Verb is report.Create, report.Update or report.Delete.
	Verb string
	// Kind is the kind of object, in report's vocabulary ("bridge",
	// "address", "route", ...).
	Kind string
	// What names the object and, for an update, what changes about it.
	What string
	// Group is the ID of the object the change belongs to (a network, a
	// port): when one of its changes fails, its later ones are skipped.
	// "" for a change that stands alone.
	Group string
	// Ops realize the change.
	Ops []Op
	// Detail, when set, is what the change achieves counted object by
	// object (an nftables transaction: so many chains, rules, elements);
	// it is recorded instead of the change's one line.
	Detail *report.Report
}

// Line is the change as its Report line: "verb kind what".
func (c Change[Op]) Line() string { return c.Verb + " " + c.Kind + " " + c.What }

// Record adds the changes to rep as they would be made (a Plan).
func Record[Op any](rep *report.Report, changes []Change[Op]) {
	for _, c := range changes {
		c.record(rep)
	}
}

func (c Change[Op]) record(rep *report.Report) {
	if c.Detail != nil {
		rep.Merge(c.Detail)
		return
	}
	report.Add(rep, c.Verb, c.Kind, c.What)
}

// Execute runs changes in order with do, recording each success in rep. It
// stops at a cancelled context. A failed change skips the later changes of
// its group; its error names the change and, prefixed with noun, its group
// ("network n1: create bridge brq1: ..."). The errors of failed changes are
// joined.
func Execute[Op any](ctx context.Context, noun string, changes []Change[Op], rep *report.Report, do func(Op) error) error {
	var errs []error
	failed := map[string]bool{}
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if c.Group != "" && failed[c.Group] {
			continue
		}
		var err error
		for _, o := range c.Ops {
			if err = do(o); err != nil {
				break
			}
		}
		if err == nil {
			c.record(rep)
			continue
		}
		err = fmt.Errorf("%s: %w", c.Line(), err)
		if c.Group != "" {
			failed[c.Group] = true
			err = fmt.Errorf("%s %s: %w", noun, c.Group, err)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Steps is what a realizer supplies for one pass over desired state, already
// bound to it. W is the validated want, O the observed state, Op an
// operation.
type Steps[W, O, Op any] struct {
	// Name is the realizer ("network"): the noun of its groups in errors
	// and the subject of its log line.
	Name string
	// Log receives one line per pass that changed something or failed.
	Log *slog.Logger
	// Validate checks the desired state; an error stops the pass before
	// anything is read or changed.
	Validate func() (W, error)
	// Observe reads the kernel; release (may be nil) is called when the
	// pass ends.
	Observe func(ctx context.Context, w W) (o O, release func(), err error)
	// Plan computes the changes from o to w. Its error joins per-object
	// errors; the changes it did plan still run.
	Plan func(w W, o O, mode Mode) ([]Change[Op], error)
	// Do returns the function that performs one operation for this pass.
	Do func(o O) func(Op) error
	// Attrs are extra attributes of the log line ("networks", 3).
	Attrs func(w W) []any
}

// Run is one pass: validate, observe, plan, then record the plan (Plan) or
// execute it (Apply). The Report is never nil. Per-object plan errors and
// execution errors are joined; the Report says what was achieved.
func Run[W, O, Op any](ctx context.Context, mode Mode, s Steps[W, O, Op]) (*report.Report, error) {
	rep := &report.Report{}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	w, err := s.Validate()
	if err != nil {
		return rep, err
	}
	o, release, err := s.Observe(ctx, w)
	if err != nil {
		return rep, fmt.Errorf("read host state: %w", err)
	}
	if release != nil {
		defer release()
	}
	changes, planErr := s.Plan(w, o, mode)
	if mode == Plan {
		Record(rep, changes)
		return rep, planErr
	}
	err = errors.Join(planErr, Execute(ctx, s.Name, changes, rep, s.Do(o)))
	if n := rep.Mutations(); (n > 0 || err != nil) && s.Log != nil {
		attrs := []any{"mutations", n}
		if s.Attrs != nil {
			attrs = append(attrs, s.Attrs(w)...)
		}
		s.Log.Info(s.Name+" apply", append(attrs, "error", err)...)
	}
	return rep, err
}
