package loadbalancer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/loadbalancer/health"
	"github.com/neutrino-net/neutrino/loadbalancer/proxy"
	"github.com/neutrino-net/neutrino/namespace"
)

// Realizer makes a node's load balancers match a Desired: a namespace per
// load balancer with its VIP port, its nftables table for the listeners
// balanced in the kernel, the proxy's listeners for the others and the
// health monitors of its pools. It removes the load-balancer namespaces
// and VIP devices it owns that are no longer desired. Safe for concurrent
// use; Applies, Plans and health-driven updates run one at a time.
type Realizer struct {
	host      *namespace.Handle
	mgr       *namespace.Manager
	opt       options
	proxy     *proxy.Proxy
	ownsProxy bool
	health    *health.Checker

	mu      sync.Mutex // one pass at a time
	lbs     map[string]*realized
	kick    chan string
	stop    chan struct{}
	wg      sync.WaitGroup
	closing sync.Once
}

// realized is what the realizer keeps about a load balancer it realized:
// the handle of its namespace, and its resolved objects, recompiled when a
// member's health changes.
type realized struct {
	h   *namespace.Handle
	net *nsNet
	g   *lbGraph
}

// NewRealizer returns a load-balancer realizer for the node whose own
// namespace is host (where the network bridges are). Close it to stop the
// health monitors and the proxy's listeners.
func NewRealizer(host *namespace.Handle, opts ...Option) (*Realizer, error) {
	if host == nil {
		return nil, errdefs.Invalid("host", "a host namespace handle is required")
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("loadbalancer: %w", err)
	}
	r := &Realizer{host: host, mgr: namespace.NewManager(o.prefix), opt: o, proxy: o.proxy,
		lbs: map[string]*realized{}, kick: make(chan string, 64), stop: make(chan struct{})}
	if r.proxy == nil {
		r.proxy, r.ownsProxy = proxy.New(o.log), true
	}
	r.health = health.New(o.log, func(c health.Change) {
		// The checker must not block: when the queue is full, hand the
		// kick to a goroutine (each refresh recompiles from the health
		// of that moment, so order does not matter).
		select {
		case r.kick <- c.Group:
		default:
			go func() {
				select {
				case r.kick <- c.Group:
				case <-r.stop:
				}
			}()
		}
	})
	r.wg.Add(1)
	go r.refresher()
	return r, nil
}

// Apply converges the node's load balancers to d and reports what it
// changed and their statuses. An invalid d changes nothing. A load balancer
// that fails does not stop the others.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, false)
}

// Plan reports what Apply would change, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, true)
}

// Close stops the health monitors and the proxy (unless shared, see
// WithProxy) and releases the namespace handles. The kernel state stays.
func (r *Realizer) Close() error {
	r.closing.Do(func() { close(r.stop) })
	r.health.Close()
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for id, lb := range r.lbs {
		r.proxy.Remove(id)
		errs = append(errs, lb.h.Close())
		delete(r.lbs, id)
	}
	if r.ownsProxy {
		r.proxy.Close()
	}
	return errors.Join(errs...)
}

// Status returns the current statuses of the load balancers the last
// Apply realized, by ID: members' operating_status follows their health
// checks as they run, between Applies.
func (r *Realizer) Status() map[string]Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Status, len(r.lbs))
	for id, lb := range r.lbs {
		if lb.g == nil {
			continue
		}
		out[id] = status(compileLB(lb.g, r.view(id)), false, r.memberStatus(id))
	}
	return out
}

// refresher applies health changes: the load balancer's kernel maps and
// proxy state are recompiled from the current health of its members.
func (r *Realizer) refresher() {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case id := <-r.kick:
			if err := r.refresh(id); err != nil {
				r.opt.log.Error("health-driven update failed", "loadbalancer", id, "err", err)
			}
		}
	}
}

func (r *Realizer) refresh(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	lb := r.lbs[id]
	if lb == nil {
		return nil
	}
	s := compileLB(lb.g, r.view(id))
	c, err := lb.h.NFT()
	if err != nil {
		return err
	}
	obs, err := readNFT(c)
	if err != nil {
		return err
	}
	p := planNFT(s, obs)
	if !p.empty() {
		for _, l := range p.lines {
			r.opt.log.Info("health", "loadbalancer", id, "change", l.verb+" "+l.kind+" "+l.what)
		}
		if err := p.commit(c); err != nil {
			return err
		}
	}
	return r.proxy.Set(id, lb.net, s.Proxy)
}

// view is the health of a load balancer's members as the compiler reads it.
func (r *Realizer) view(id string) HealthView {
	return func(member string) (bool, bool) {
		_, in, known := r.health.State(id, member)
		return in, known
	}
}

func (r *Realizer) memberStatus(id string) func(string) (string, bool) {
	return func(member string) (string, bool) {
		st, _, known := r.health.State(id, member)
		return st, known
	}
}

func (r *Realizer) run(ctx context.Context, d *Desired, dry bool) (*Report, error) {
	rep := newReport()
	g, err := d.clone().resolve()
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
	var errs []error
	wantPorts := map[string]bool{}
	wantNS := map[string]bool{}
	for _, lg := range g.lbs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		id := lg.lb.ID
		wantPorts[lg.vip.ID], wantNS[Namespace(id)] = true, true
		s, err := r.realizeLB(lg, hostLinks, rep, dry)
		if err != nil {
			errs = append(errs, fmt.Errorf("loadbalancer %s: %w", id, err))
		}
		rep.LoadBalancers[id] = status(s, err != nil, r.memberStatus(id))
	}
	errs = append(errs, r.collect(hostLinks, wantPorts, wantNS, rep, dry))
	return rep, errors.Join(errs...)
}

func (r *Realizer) hostLinks() (map[string]netlink.Link, error) {
	links, err := nl.Dump(r.host.Netlink().LinkList)
	if err != nil {
		return nil, err
	}
	out := make(map[string]netlink.Link, len(links))
	for _, l := range links {
		out[l.Attrs().Name] = l
	}
	return out, nil
}

// sweepUnfinished deletes host devices with a temporary name of ours:
// creations a crash interrupted (nl.CreateOwned).
func (r *Realizer) sweepUnfinished(links map[string]netlink.Link, rep *Report, dry bool) error {
	for _, name := range sortedKeys(links) {
		if !nl.IsTemp(name, Owner) {
			continue
		}
		if !dry {
			if err := nl.IgnoreNotFound(r.host.Netlink().LinkDel(links[name])); err != nil {
				return fmt.Errorf("unfinished device %s: %w", name, err)
			}
		}
		report.Add(&rep.Report, "delete", "unfinished", name)
	}
	return nil
}

// handle returns the load balancer's namespace, creating it unless dry (a
// missing namespace then gives nil). A kept handle is used only while its
// namespace is still the one mounted under the name.
func (r *Realizer) handle(id string, rep *Report, dry bool) (*realized, error) {
	name := Namespace(id)
	if lb := r.lbs[id]; lb != nil {
		if sameNamespace(lb.h, r.mgr.Path(name)) {
			return lb, nil
		}
		r.forget(id)
	}
	if dry {
		if !r.mgr.Exists(name) {
			report.Add(&rep.Report, "create", "namespace", r.mgr.FullName(name))
			return nil, nil
		}
		h, err := r.mgr.Open(name)
		if err != nil {
			return nil, err
		}
		return &realized{h: h, net: &nsNet{h: h}}, nil
	}
	h, created, err := r.mgr.Ensure(name)
	if err != nil {
		return nil, err
	}
	// The nftables connection first, while descriptor numbers are low:
	// the library's select(2) fails from descriptor 1024 on (PITFALLS.md),
	// and the proxy's connections take descriptors all the time.
	if _, err := h.NFT(); err != nil {
		_ = h.Close()
		return nil, err
	}
	if created {
		report.Add(&rep.Report, "create", "namespace", r.mgr.FullName(name))
	}
	lb := &realized{h: h, net: &nsNet{h: h}}
	r.lbs[id] = lb
	return lb, nil
}

// forget stops serving a load balancer and closes its handle.
func (r *Realizer) forget(id string) {
	lb := r.lbs[id]
	if lb == nil {
		return
	}
	r.health.Remove(id)
	r.proxy.Remove(id)
	_ = lb.h.Close()
	delete(r.lbs, id)
}

// realizeLB realizes one load balancer and returns the spec it realized.
func (r *Realizer) realizeLB(lg *lbGraph, hostLinks map[string]netlink.Link, rep *Report, dry bool) (s *spec, err error) {
	s = compileLB(lg, r.view(lg.lb.ID))
	lb, err := r.handle(s.ID, rep, dry)
	if err != nil {
		return s, err
	}
	if dry && lb != nil && r.lbs[s.ID] != lb {
		defer lb.h.Close()
	}
	var h *namespace.Handle
	if lb != nil {
		h = lb.h
	}
	obs, err := observe(h, s)
	if err != nil {
		return s, err
	}
	cs, err := r.planPlumbing(s, obs, hostLinks, h, dry)
	if err != nil {
		return s, err
	}
	for _, c := range cs {
		if !dry {
			if err := c.do(); err != nil {
				return s, fmt.Errorf("%s %s %s: %w", c.verb, c.kind, c.what, err)
			}
		}
		report.Add(&rep.Report, c.verb, c.kind, c.what+" in "+r.mgr.FullName(s.Namespace))
	}
	var nftObs *nftState
	if h == nil {
		nftObs, _ = readNFT(nil)
	} else {
		c, err := h.NFT()
		if err != nil {
			return s, err
		}
		if nftObs, err = readNFT(c); err != nil {
			return s, err
		}
	}
	if !dry {
		// Monitors first: a changed monitor restarts its probes, and the
		// kernel maps are then compiled from their fresh state.
		lb.g = lg
		r.health.Set(s.ID, lb.net, s.Monitors)
		s = compileLB(lg, r.view(lg.lb.ID))
	}
	p := planNFT(s, nftObs)
	for _, l := range p.lines {
		report.AddN(&rep.Report, l.verb, l.kind, l.n, l.what+" in "+r.mgr.FullName(s.Namespace))
	}
	if dry {
		return s, nil
	}
	if !p.empty() {
		c, _ := h.NFT()
		if err := p.commit(c); err != nil {
			return s, fmt.Errorf("nftables: %w", err)
		}
	}
	// The proxy starts with the health known now; monitors that change a
	// member's rotation later refresh it.
	return s, r.proxy.Set(s.ID, lb.net, s.Proxy)
}

// collect removes what this node's realizer made for load balancers no
// longer desired: their VIP devices (deleting the host end deletes the
// pair) and their namespaces, with the nftables table inside.
func (r *Realizer) collect(hostLinks map[string]netlink.Link, wantPorts, wantNS map[string]bool, rep *Report, dry bool) error {
	var errs []error
	for _, name := range sortedKeys(hostLinks) {
		l := hostLinks[name]
		kind, portID, ok := naming.ParseOwner(l.Attrs().Alias)
		if !ok || kind != OwnerKind || wantPorts[portID] {
			continue
		}
		if !dry {
			if err := nl.IgnoreNotFound(r.host.Netlink().LinkDel(l)); err != nil {
				errs = append(errs, fmt.Errorf("delete %s: %w", name, err))
				continue
			}
		}
		report.Add(&rep.Report, "delete", "link", name)
	}
	names, err := r.mgr.List()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list namespaces: %w", err))...)
	}
	for _, name := range names {
		if !strings.HasPrefix(name, NamespacePrefix) || wantNS[name] {
			continue
		}
		id := strings.TrimPrefix(name, NamespacePrefix)
		if !dry {
			r.forget(id)
			if err := r.mgr.Delete(name); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		report.Add(&rep.Report, "delete", "namespace", r.mgr.FullName(name))
	}
	if !dry {
		for id := range r.lbs {
			if !wantNS[Namespace(id)] {
				r.forget(id)
			}
		}
	}
	return errors.Join(errs...)
}
