package network

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/neutrino-net/neutrino/internal/errdefs"
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
	for _, o := range opts {
		o(&cfg)
	}
	var errs []error
	if cfg.vxlanPort < 1 || cfg.vxlanPort > 65535 {
		errs = append(errs, errdefs.Invalid("vxlan_port", "%d is not a UDP port", cfg.vxlanPort))
	}
	for _, physnet := range slices.Sorted(maps.Keys(cfg.mappings)) {
		if iface := cfg.mappings[physnet]; !validIfName(iface) {
			errs = append(errs, errdefs.Invalid("physical_interface_mappings."+physnet, "%q is not an interface name", iface))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Realizer{host: host, cfg: cfg}, nil
}

// Apply converges the host to d: it creates and repairs what d needs and
// deletes the bridges, VXLAN and VLAN devices it owns that d no longer needs.
// An invalid d changes nothing. A network that cannot be realized (a foreign
// device with its bridge's name, a missing physical interface) does not stop
// the others: the error joins one error per failed network, and the Report
// says what was done.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, true)
}

// Plan returns the Report Apply would give now, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, false)
}

func (r *Realizer) run(ctx context.Context, d Desired, apply bool) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	w, err := d.validate()
	if err != nil {
		return rep, err
	}
	o, err := r.observe(w)
	if err != nil {
		return rep, fmt.Errorf("read host state: %w", err)
	}
	changes, planErr := plan(&r.cfg, w, o)
	if !apply {
		for _, c := range changes {
			rep.Add(c.verb, c.kind, c.what)
		}
		return rep, planErr
	}
	err = r.execute(ctx, o, changes, rep)
	if n := rep.Mutations(); n > 0 || err != nil || planErr != nil {
		r.cfg.log.Info("network apply", "mutations", n, "networks", len(w.networks), "error", errors.Join(planErr, err))
	}
	return rep, errors.Join(planErr, err)
}

// runChanges runs changes in order with do, recording each success in rep.
// A failed change skips the later changes of its group (its network).
func runChanges(ctx context.Context, changes []change, rep *Report, do func(op) error) error {
	var errs []error
	failed := map[string]bool{}
	for _, c := range changes {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if c.group != "" && failed[c.group] {
			continue
		}
		var err error
		for _, o := range c.ops {
			if err = do(o); err != nil {
				break
			}
		}
		if err != nil {
			err = fmt.Errorf("%s %s %s: %w", c.verb, c.kind, c.what, err)
			if c.group != "" {
				failed[c.group] = true
				err = fmt.Errorf("network %s: %w", c.group, err)
			}
			errs = append(errs, err)
			continue
		}
		rep.Add(c.verb, c.kind, c.what)
	}
	return errors.Join(errs...)
}

// validIfName reports whether the kernel accepts name for a device
// (dev_valid_name).
func validIfName(name string) bool {
	return name != "" && len(name) <= 15 && name != "." && name != ".." && !strings.ContainsAny(name, "/: \t\n\v\f\r\x00")
}
