package router

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// Realizer makes a node's routers match a Desired: one namespace per router
// with its interfaces, addresses, routes, sysctls and NAT table, and removes
// the router namespaces it owns that are no longer desired. It is safe for
// concurrent use; Applies and Plans run one at a time.
type Realizer struct {
	host *namespace.Handle
	mgr  *namespace.Manager
	opt  options
	bg   *background

	mu sync.Mutex // one Apply or Plan at a time

	hmu     sync.Mutex
	handles map[string]*routerNS // by namespace name (without the node prefix)

	hostState *mirror // the host's links (bridges, host ends of pairs)

	ra raServer // router advertisements (ra_linux.go)
}

// NewRealizer returns a router realizer for the node whose own namespace is
// host (where the network bridges are). Close it to stop gratuitous ARP
// bursts in flight and release the namespace handles it keeps open.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	if host == nil {
		return nil, errdefs.Invalid("host", "a host namespace handle is required")
	}
	o := defaultOptions()
	if err := option.Apply(&o, opts); err != nil {
		return nil, err
	}
	return &Realizer{
		host:    host,
		mgr:     namespace.NewManager(o.prefix),
		opt:     o,
		bg:      newBackground(o.garpCount, o.garpInterval, o.log),
		handles: map[string]*routerNS{},
	}, nil
}

// Apply converges the node's routers to d and reports what it changed. An
// invalid d changes nothing. A router that fails does not stop the others:
// the error joins the failures, each naming its router, and the report
// counts what was achieved. Gratuitous ARP and conntrack cleanup run in the
// background (see Wait).
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, false)
}

// Plan reports what Apply would change, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, true)
}

// Wait blocks until the background work of the passes so far is done:
// gratuitous ARP bursts sent, conntrack flows of moved or removed floating
// IPs deleted.
func (r *Realizer) Wait() { r.bg.wait() }

// Close stops gratuitous ARP bursts in flight, waits for conntrack cleanups,
// and closes the namespace handles the realizer keeps. The kernel state
// stays as it is.
func (r *Realizer) Close() error {
	r.bg.stop()
	r.ra.close()
	r.hmu.Lock()
	defer r.hmu.Unlock()
	var errs []error
	for name, n := range r.handles {
		errs = append(errs, n.close())
		delete(r.handles, name)
	}
	if r.hostState != nil {
		r.hostState.close()
		r.hostState = nil
	}
	return errors.Join(errs...)
}

func (r *Realizer) run(ctx context.Context, d *Desired, dry bool) (*Report, error) {
	rep := &Report{}
	specs, err := d.compile()
	if err != nil {
		return rep, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	hostLinks, err := r.hostLinks()
	if err != nil {
		return rep, fmt.Errorf("host links: %w", err)
	}
	if err := r.sweepUnfinished(hostLinks, rep, dry); err != nil {
		return rep, err
	}
	// Three phases. Opening and reading back namespaces, and then realizing
	// routers, run concurrently (WithWorkers): each router has its own
	// namespace and sockets. Between them the forwarding sysctls of new
	// namespaces are written one at a time, while no worker changes links:
	// the kernel takes the routing netlink lock for them with a trylock and
	// restarts the write until it gets it, spinning on a CPU the link
	// changes need.
	runs := make([]*routerRun, len(specs))
	reps := make([]*Report, len(specs))
	errs := make([]error, len(specs))
	r.parallel(len(specs), func(i int) {
		reps[i] = &Report{}
		runs[i], errs[i] = r.open(ctx, specs[i], hostLinks, reps[i], dry)
	})
	for i, rr := range runs {
		if errs[i] == nil {
			errs[i] = rr.execute(ctx, rr.diffSysctls(), reps[i], dry)
		}
	}
	r.parallel(len(specs), func(i int) {
		if errs[i] == nil {
			errs[i] = runs[i].realize(ctx, reps[i], dry)
		}
		if rr := runs[i]; rr != nil && rr.rns != nil && rr.rns.transient {
			_ = rr.rns.close()
		}
		if errs[i] != nil {
			errs[i] = fmt.Errorf("router %s: %w", specs[i].ID, errs[i])
		}
	})
	for _, rr := range reps {
		rep.Merge(rr)
	}
	gcRep, gcErr := r.collect(ctx, specs, dry)
	rep.Merge(gcRep)
	return rep, errors.Join(append(errs, gcErr)...)
}

// parallel runs fn(0..n-1) on up to WithWorkers goroutines.
func (r *Realizer) parallel(n int, fn func(int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(r.opt.workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(i)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// hostLinks returns the host's links by name, current as of now. The map
// is read, not changed, during the pass.
func (r *Realizer) hostLinks() (map[string]netlink.Link, error) {
	if r.hostState == nil {
		m, err := newMirror(r.host, false)
		if err != nil {
			return nil, err
		}
		r.hostState = m
	}
	if err := r.hostState.sync(r.host.Netlink(), false); err != nil {
		return nil, err
	}
	return r.hostState.links, nil
}

// open opens (or, unless dry, creates) a router's namespace and reads it
// back.
func (r *Realizer) open(ctx context.Context, spec *routerSpec, hostLinks map[string]netlink.Link, rep *Report, dry bool) (*routerRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rns, created, err := r.namespace(spec.Namespace, dry)
	if err != nil {
		return nil, err
	}
	full := r.mgr.FullName(spec.Namespace)
	if created {
		report.AddN(rep, create.String(), "namespace", 1, full)
	}
	rr := &routerRun{r: r, spec: spec, rns: rns, where: full, host: hostLinks, obs: &observed{}, idx: map[string]int{}, dry: dry}
	if rns != nil {
		rr.ns = rns.h
		if rr.obs, err = rns.observe(created); err != nil {
			return rr, err
		}
	}
	return rr, nil
}

// realize makes (or plans) the router's changes after its sysctls.
func (rr *routerRun) realize(ctx context.Context, rep *Report, dry bool) error {
	changes, err := rr.diff()
	if err != nil {
		return err
	}
	err = rr.execute(ctx, changes, rep, dry)
	if n := rep.Mutations(); n > 0 && !dry {
		rr.r.opt.log.Info("router realized", "router", rr.spec.ID, "namespace", rr.where, "changes", n)
		for _, c := range rep.Changes {
			rr.r.opt.log.Debug(c, "router", rr.spec.ID)
		}
	}
	return err
}

// dumpLinks lists a namespace's links by name.
func dumpLinks(h *netlink.Handle) (map[string]netlink.Link, error) {
	links, err := nl.Dump(h.LinkList)
	if err != nil {
		return nil, err
	}
	out := make(map[string]netlink.Link, len(links))
	for _, l := range links {
		out[l.Attrs().Name] = l
	}
	return out, nil
}
