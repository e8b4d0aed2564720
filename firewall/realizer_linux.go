package firewall

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nft"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// NewRealizer returns a firewall realizer for the node whose own namespace
// is host. Options are checked here: an invalid one is an error naming it.
// Close it to stop the NFLOG readers.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	if host == nil {
		return nil, errdefs.Invalid("host", "a host namespace handle is required")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Realizer{host: host, cfg: cfg, mgr: namespace.NewManager(cfg.prefix),
		tables: map[string]bool{}, listeners: map[string]*listener{}}, nil
}

// Apply makes the node's routers enforce d: it validates d (nothing
// changes if it is invalid), then per router namespace commits the
// difference between its table and the compiled policy as one nftables
// transaction, deletes the conntrack entries of flows that lost their
// permission, and (re)binds the NFLOG reader of routers with logs. Tables
// of routers no longer protected are deleted. A router that fails does not
// stop the others; the error joins the failures, each naming its router.
// The report is never nil.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, true)
}

// Plan reports what Apply would change, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, false)
}

// Close stops the NFLOG readers. The tables stay as they are.
func (r *Realizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for id, l := range r.listeners {
		errs = append(errs, l.Close())
		delete(r.listeners, id)
	}
	return errors.Join(errs...)
}

func (r *Realizer) run(ctx context.Context, d *Desired, apply bool) (*Report, error) {
	rep := &Report{}
	x, err := d.index()
	if err != nil {
		return rep, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rs := compile(d, x, r.cfg)
	routers := map[string]bool{}
	for id := range rs.tables {
		routers[id] = true
	}
	for id := range r.tables {
		routers[id] = true
	}
	if !r.swept {
		names, err := r.mgr.List()
		if err != nil {
			return rep, fmt.Errorf("list router namespaces: %w", err)
		}
		for _, n := range names {
			if id, ok := strings.CutPrefix(n, naming.NSRouter); ok {
				routers[id] = true
			}
		}
	}
	var known map[uint64]*tuple
	if apply {
		known = r.rememberRules(rs)
	} else {
		saved := r.known
		known = r.rememberRules(rs)
		r.known = saved
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(routers)) {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := r.router(id, rs.tables[id], known, apply, rep); err != nil {
			errs = append(errs, fmt.Errorf("router %s: %w", id, err))
		}
	}
	if apply {
		r.swept = r.swept || len(errs) == 0
		if rep.Mutations() > 0 {
			r.cfg.log.Info("firewall applied", "changes", rep.String())
		}
	}
	return rep, errors.Join(errs...)
}

// router converges one router namespace's table (want nil: no table).
func (r *Realizer) router(id string, want *table, known map[uint64]*tuple, apply bool, rep *Report) error {
	name := naming.RouterNamespace(id)
	if !r.mgr.Exists(name) {
		if apply {
			delete(r.tables, id)
			r.closeListener(id)
		}
		switch {
		case want == nil:
		case apply:
			return fmt.Errorf("%w: namespace %s does not exist (the router realizer makes it)", errdefs.ErrNotFound, r.mgr.FullName(name))
		default:
			// A plan before the router realizer's apply: the table
			// would be created whole.
			rep.Merge(diffTable(id, nil, want, known).rep)
		}
		return nil
	}
	h, err := r.mgr.Open(name)
	if err != nil {
		return err
	}
	defer h.Close()
	c, err := h.NFT()
	if err != nil {
		return err
	}
	have, err := observe(c)
	if err != nil {
		return err
	}
	p := diffTable(id, have, want, known)
	rep.Merge(p.rep)
	if !apply {
		return nil
	}
	if !p.empty() {
		if err := queue(c, p); err != nil {
			_ = c.Flush() // discards what was queued
			return fmt.Errorf("queue nftables changes: %w", err)
		}
		if err := c.Flush(); err != nil {
			return fmt.Errorf("commit table inet %s: %w", TableName, nft.Err(err))
		}
		n, err := cutFlows(h.Netlink(), p)
		rep.Record(report.Delete, "conntrack", int(n), fmt.Sprintf("delete conntrack %d entries of flows that lost their permission in %s", n, name))
		if err != nil {
			return fmt.Errorf("delete conntrack entries: %w", err)
		}
	}
	if want == nil {
		delete(r.tables, id)
		r.closeListener(id)
		return nil
	}
	r.tables[id] = true
	if len(want.prefixes) == 0 {
		r.closeListener(id)
		return nil
	}
	l := r.listeners[id]
	if l == nil {
		if l, err = listen(h.Fd(), id, r.cfg, &r.counts); err != nil {
			return err
		}
		r.listeners[id] = l
	}
	l.setSources(want.prefixes)
	return nil
}

func (r *Realizer) closeListener(id string) {
	if l := r.listeners[id]; l != nil {
		if err := l.Close(); err != nil {
			r.cfg.log.Debug("close NFLOG reader", "router", id, "err", err)
		}
		delete(r.listeners, id)
	}
}
