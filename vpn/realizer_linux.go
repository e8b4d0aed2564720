package vpn

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// NewRealizer returns a VPN realizer for the node whose own namespace is
// host. Options are checked here: an invalid one is an error naming it. The
// charon binary must exist.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	if host == nil {
		return nil, errdefs.Invalid("host", "a host namespace handle is required")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.charon); err != nil {
		return nil, fmt.Errorf("charon: %w (Debian package charon-systemd)", err)
	}
	return &Realizer{cfg: cfg, mgr: namespace.NewManager(cfg.prefix), daemons: map[string]*daemon{}}, nil
}

// Apply makes the node's routers run d's site connections: it validates d
// (nothing changes if it is invalid), starts a charon in each router
// namespace that has a connection which is up (and again if it died),
// loads through vici the connections and keys that are missing or
// changed, unloads those no longer wanted, and stops the daemons of
// routers left without connections (charon removes its routes and TUN
// device as it stops). The report holds every connection's status. A
// router that fails does not stop the others; the error joins the
// failures, each naming its router. The report is never nil.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, true)
}

// Plan reports what Apply would change, changing nothing; the status is
// read from the daemons that run.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, false)
}

// Destroy stops every daemon the realizer runs, or an earlier run of it
// left, and removes their files: Apply of an empty Desired.
func (r *Realizer) Destroy(ctx context.Context) (*Report, error) {
	return r.run(ctx, &Desired{}, true)
}

// Close closes the vici sessions. The daemons keep running with their
// connections: a later realizer with the same run directory adopts them.
func (r *Realizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, d := range r.daemons {
		d.closeSessions()
		delete(r.daemons, id)
	}
	r.swept = false
	return nil
}

func (r *Realizer) run(ctx context.Context, d *Desired, apply bool) (*Report, error) {
	rep := &Report{Status: map[string]ConnStatus{}}
	rvs, err := d.compile()
	if err != nil {
		return rep, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.swept {
		r.adopt()
		r.swept = true
	}
	var errs []error
	want := map[string]bool{}
	for _, rv := range rvs {
		want[rv.RouterID] = true
		if err := r.router(ctx, &rep.Report, rv, apply); err != nil {
			errs = append(errs, fmt.Errorf("router %s: %w", rv.RouterID, err))
		}
	}
	for _, id := range sortedKeys(r.daemons) {
		if want[id] {
			continue
		}
		report.Add(&rep.Report, report.Delete, "charon", id)
		if apply {
			r.daemons[id].stop(r.cfg.log)
			delete(r.daemons, id)
			r.cfg.log.Info("stopped charon", "router", id)
		}
	}
	for _, rv := range rvs {
		names := make([]string, len(rv.Conns))
		for i, c := range rv.Conns {
			names[i] = c.ID
		}
		for _, n := range names {
			rep.Status[n] = ConnStatus{Status: StatusDown}
		}
		if dm := r.daemons[rv.RouterID]; dm != nil {
			maps.Copy(rep.Status, dm.status(names))
		}
	}
	return rep, errors.Join(errs...)
}

// adopt takes over the daemons an earlier realizer left in the run
// directory; what cannot be adopted is stopped (if it is ours) and
// removed.
func (r *Realizer) adopt() {
	entries, err := os.ReadDir(r.cfg.runDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || r.daemons[e.Name()] != nil {
			continue
		}
		dm, err := adoptDaemon(r.cfg, e.Name())
		if err != nil {
			r.cfg.log.Info("removing the files of a charon that no longer answers", "router", e.Name(), "error", err)
			dm.stop(r.cfg.log)
			continue
		}
		r.cfg.log.Info("adopted a running charon", "router", e.Name(), "pid", dm.pid)
		r.daemons[e.Name()] = dm
	}
}

// router converges one router's daemon and connections.
func (r *Realizer) router(ctx context.Context, rep *report.Report, rv *routerVPN, apply bool) error {
	dm := r.daemons[rv.RouterID]
	if dm != nil && !dm.alive() {
		r.cfg.log.Warn("charon died; starting it again", "router", rv.RouterID, "pid", dm.pid)
		dm.stop(r.cfg.log)
		delete(r.daemons, rv.RouterID)
		dm = nil
	}
	encap := r.cfg.userspaceESP
	if dm == nil {
		report.Add(rep, report.Create, "charon", rv.RouterID)
		if !apply {
			for _, c := range rv.Conns {
				report.Addf(rep, report.Create, "ipsec-connection", "%s/%s", rv.RouterID, c.ID)
			}
			return nil
		}
		h, err := r.mgr.Open(naming.RouterNamespace(rv.RouterID))
		if err != nil {
			return fmt.Errorf("its namespace (made by the router realizer): %w", err)
		}
		dm, err = startDaemon(ctx, r.cfg, h, rv.RouterID)
		h.Close()
		if err != nil {
			return err
		}
		r.daemons[rv.RouterID] = dm
		r.cfg.log.Info("started charon", "router", rv.RouterID, "pid", dm.pid, "userspace_esp", encap)
	}
	have, err := dm.conns(ctx)
	if err != nil {
		return fmt.Errorf("get-conns: %w", err)
	}
	var errs []error
	for _, c := range rv.Conns {
		fp := c.fingerprint(encap)
		loaded := slices.Contains(have, c.ID)
		if loaded && dm.loaded[c.ID] == fp {
			continue
		}
		verb := report.Create
		if loaded {
			verb = report.Update
		}
		report.Addf(rep, verb, "ipsec-connection", "%s/%s", rv.RouterID, c.ID)
		if !apply {
			continue
		}
		if err := dm.load(ctx, c, encap, loaded); err != nil {
			errs = append(errs, err)
			continue
		}
		dm.loaded[c.ID] = fp
		r.cfg.log.Info("loaded ipsec connection", "router", rv.RouterID, "connection", c.ID, "peer", c.RemoteAddr, "initiate", c.Initiate)
	}
	for _, name := range have {
		if slices.ContainsFunc(rv.Conns, func(c *connSpec) bool { return c.ID == name }) {
			continue
		}
		report.Addf(rep, report.Delete, "ipsec-connection", "%s/%s", rv.RouterID, name)
		if !apply {
			continue
		}
		if err := dm.unload(ctx, name); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(dm.loaded, name)
		r.cfg.log.Info("unloaded ipsec connection", "router", rv.RouterID, "connection", name)
	}
	if apply {
		if err := dm.saveLoaded(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
