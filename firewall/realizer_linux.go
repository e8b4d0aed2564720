package firewall

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

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
		tables: map[string]bool{}, listeners: map[string]*listener{}, handles: map[string]*namespace.Handle{},
		states: map[string]*knownState{}}, nil
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

// Close stops the NFLOG readers and closes the namespace handles the
// realizer keeps. The tables stay as they are.
func (r *Realizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for id := range r.handles {
		r.closeHandle(id)
	}
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
		routers[hostTable] = true
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
	var known knownRules
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
			what := "router " + id
			if id == hostTable {
				what = "host namespace"
			}
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
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

// attempts bounds the commits refused because someone else changed the
// namespace's ruleset between our read and our commit.
const attempts = 3

// commit sends the plan as one transaction, which the kernel refuses
// (ERESTART) if the ruleset is no longer at generation gen: the plan's rule
// handles were read at gen. After our commit alone, the table's state is
// known without reading it back.
func (r *Realizer) commit(id string, h *namespace.Handle, c *nftables.Conn, p *tablePlan, have *tableState, gen uint32) error {
	delete(r.states, id)
	added, err := queue(c, p)
	if err != nil {
		_ = c.Flush() // discards what was queued
		return fmt.Errorf("queue nftables changes: %w", err)
	}
	if err := c.FlushWithGenID(gen); err != nil {
		if errors.Is(err, unix.ERESTART) {
			return err
		}
		return fmt.Errorf("commit table inet %s: %w", TableName, nft.Err(err))
	}
	if g, err := c.GetGen(); err == nil && g.ID == gen+1 && (r.handles[id] == h || id == hostTable) {
		r.states[id] = &knownState{gen: g.ID, st: p.result(have, handlesOf(added))}
	}
	return nil
}

// router converges one router namespace's table (want nil: no table).
func (r *Realizer) router(id string, want *table, known knownRules, apply bool, rep *Report) error {
	name := naming.RouterNamespace(id)
	if id == hostTable {
		name = "the host namespace"
		if want != nil && len(want.ports) > 0 {
			if err := r.brNetfilter(apply, rep); err != nil {
				return err
			}
		}
	} else if !r.mgr.Exists(name) {
		r.closeHandle(id)
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
	h, release, err := r.open(id)
	if err != nil {
		return err
	}
	defer release()
	c, err := h.NFT()
	if err != nil {
		return err
	}
	var p *tablePlan
	for attempt := 1; ; attempt++ {
		have, gen, err := r.current(id, c, h.Fd())
		if err != nil {
			return err
		}
		p = diffTable(id, have, want, known)
		if !apply || p.empty() {
			rep.Merge(p.rep)
			break
		}
		err = r.commit(id, h, c, p, have, gen)
		if errors.Is(err, unix.ERESTART) {
			if attempt < attempts {
				r.cfg.log.Debug("ruleset changed during apply, retrying", "namespace", name)
				continue
			}
			return fmt.Errorf("%w: the nftables ruleset of %s kept changing during apply (%d attempts)", errdefs.ErrConflict, name, attempts)
		}
		if err != nil {
			return err
		}
		rep.Merge(p.rep)
		n, err := r.cut(h, p)
		report.Record(rep, report.Delete, "conntrack", int(n), fmt.Sprintf("delete conntrack %d entries of flows that lost their permission in %s", n, name))
		if err != nil {
			return fmt.Errorf("delete conntrack entries: %w", err)
		}
		break
	}
	if !apply {
		return nil
	}
	if want == nil {
		delete(r.tables, id)
		r.closeListener(id)
		r.closeHandle(id)
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

// open returns a handle of router id's namespace and a function to call
// when done with it. Handles of protected routers are kept between passes
// (up to WithMaxOpenNamespaces): reopening costs a socket per pass, and
// closing an nftables socket right after a commit waits for the kernel.
// A kept handle is checked against the namespace's path on every use, so
// a router namespace deleted and recreated is never written through a
// stale handle; a deleted one stays alive only until this check.
func (r *Realizer) open(id string) (*namespace.Handle, func(), error) {
	if id == hostTable {
		return r.host, func() {}, nil
	}
	name := naming.RouterNamespace(id)
	if h := r.handles[id]; h != nil {
		if sameNS(r.mgr.Path(name), h.Fd()) {
			return h, func() {}, nil
		}
		r.closeHandle(id)
	}
	h, err := r.mgr.Open(name)
	if err != nil {
		return nil, nil, err
	}
	if len(r.handles) < r.cfg.maxOpen {
		r.handles[id] = h
		return h, func() {}, nil
	}
	return h, func() { _ = h.Close() }, nil
}

func (r *Realizer) closeHandle(id string) {
	delete(r.states, id)
	if id == hostTable {
		return
	}
	if h := r.handles[id]; h != nil {
		_ = h.Close()
		delete(r.handles, id)
	}
}

// current returns the table's state in the namespace (nil: no table) and
// the ruleset generation it is valid at: remembered from our last commit
// if nothing changed the namespace's ruleset since (the generation counts
// every commit, nft by hand included), else read back.
func (r *Realizer) current(id string, c *nftables.Conn, nsFd int) (*tableState, uint32, error) {
	g, err := c.GetGen()
	if err != nil {
		return nil, 0, fmt.Errorf("read nftables generation: %w", nft.Err(err))
	}
	if k := r.states[id]; k != nil && k.gen == g.ID {
		return k.st, g.ID, nil
	}
	delete(r.states, id)
	st, err := observe(c, nsFd)
	if err != nil {
		return nil, 0, err
	}
	if r.handles[id] != nil || id == hostTable {
		r.states[id] = &knownState{gen: g.ID, st: st}
	}
	return st, g.ID, nil
}

// sameNS reports whether the namespace mounted at path is the one fd
// refers to.
func sameNS(path string, fd int) bool {
	var a, b unix.Stat_t
	return unix.Stat(path, &a) == nil && unix.Fstat(fd, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// cut deletes the conntrack entries of the flows the plan ended, unless the
// namespace tracks no flow at all: deleting by filter walks the kernel's
// whole conntrack hash (~10 ms here even when empty), reading the count
// costs a file read.
func (r *Realizer) cut(h *namespace.Handle, p *tablePlan) (uint, error) {
	if len(p.cut) == 0 && !p.cutAll {
		return 0, nil
	}
	if n, err := h.ReadSysctl("net/netfilter/nf_conntrack_count"); err == nil && n == "0" {
		return 0, nil
	}
	return cutFlows(h.Netlink(), p)
}

// brNetfilter makes bridged IPv4 and IPv6 traffic traverse the inet hooks
// of the host namespace (the sysctls are per namespace), without which no
// instance port's packet reaches the table. The security group realizer
// sets them too.
func (r *Realizer) brNetfilter(apply bool, rep *Report) error {
	for _, key := range []string{"net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables"} {
		v, err := r.host.ReadSysctl(key)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: %s is missing: the kernel has no br_netfilter, instance ports cannot be filtered", errors.ErrUnsupported, key)
		}
		if err != nil {
			return err
		}
		if v == "1" {
			continue
		}
		report.Record(rep, report.Update, "sysctl", 1, fmt.Sprintf("set %s=1 (was %s)", key, v))
		if apply {
			if err := r.host.Sysctl(key, "1"); err != nil {
				return err
			}
		}
	}
	return nil
}
