package dhcp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/nodestate"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

type verb int

const (
	create verb = iota
	update
	remove
)

// change is one planned mutation; Plan records it, Apply runs it first.
type change struct {
	verb verb
	kind string
	desc string
	do   func() error
}

func (c change) record(rep *Report) {
	switch c.verb {
	case create:
		report.Addf(rep, report.Create, c.kind, "%s", c.desc)
	case update:
		report.Addf(rep, report.Update, c.kind, "%s", c.desc)
	default:
		report.Addf(rep, report.Delete, c.kind, "%s", c.desc)
	}
}

// Apply makes the node serve DHCP for the desired networks: qdhcp
// namespaces, DHCP port devices, addresses, routes and running servers, and
// removes what it owns for networks no longer served. Reservation and option
// changes reach running servers without a restart.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, false)
}

// Plan reports what Apply would change, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, true)
}

// Close stops every server the realizer started. The namespaces and devices
// stay, so DHCP resumes as soon as a new Realizer applies the same state.
func (r *Realizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(r.servers)) {
		errs = append(errs, r.servers[id].srv.Close())
		delete(r.servers, id)
	}
	return errors.Join(errs...)
}

func (r *Realizer) run(ctx context.Context, d Desired, dry bool) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{}
	if r.closed {
		return rep, errors.New("dhcp realizer is closed")
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	sel, selErr := selectNetworks(&d, r.hostName, r.settings)
	errs := []error{selErr}
	links, err := nodestate.Links(ctx, r.host) // the agent pass's shared dump, if any
	if err != nil {
		return rep, errors.Join(selErr, fmt.Errorf("list host links: %w", err))
	}
	host := make(map[string]netlink.Link, len(links))
	for _, l := range links {
		host[l.Attrs().Name] = l
	}
	names, err := r.mgr.List()
	if err != nil {
		return rep, errors.Join(selErr, fmt.Errorf("list namespaces: %w", err))
	}
	present := map[string]bool{}
	for _, n := range names {
		if id, ok := strings.CutPrefix(n, naming.NSDHCP); ok && id != "" {
			present[id] = true
		}
	}

	for _, id := range sel.networkIDs() {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := r.realize(sel.configs[id], present[id], host, rep, dry); err != nil {
			errs = append(errs, fmt.Errorf("dhcp network %s: %w", id, err))
		}
	}

	// Host ends of DHCP ports no served (or failed) network has.
	var gc []change
	for _, l := range links {
		if nl.IsTemp(l.Attrs().Name, Owner) { // a creation a crash interrupted
			gc = append(gc, change{remove, "unfinished", l.Attrs().Name, func() error {
				return nl.IgnoreNotFound(r.host.Netlink().LinkDel(l))
			}})
			continue
		}
		kind, pid, ok := naming.ParseOwner(l.Attrs().Alias)
		if !ok || kind != ownerKind || sel.keepPorts[pid] {
			continue
		}
		gc = append(gc, change{remove, "link", l.Attrs().Name, func() error {
			return nl.IgnoreNotFound(r.host.Netlink().LinkDel(l))
		}})
	}
	errs = append(errs, r.execute(rep, dry, gc))

	gone := map[string]bool{}
	for id := range present {
		gone[id] = true
	}
	for id := range r.servers {
		gone[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(gone)) {
		if sel.configs[id] == nil && !sel.failed[id] {
			errs = append(errs, r.teardown(id, present[id], rep, dry))
		}
	}
	return rep, errors.Join(errs...)
}

// execute runs the changes in order (unless dry), recording and logging
// each one that was made; it stops at the first failure, since later
// changes build on earlier ones.
func (r *Realizer) execute(rep *Report, dry bool, cs []change) error {
	for _, c := range cs {
		verb := [...]string{"create", "update", "delete"}[c.verb]
		if !dry {
			if err := c.do(); err != nil {
				return fmt.Errorf("%s %s %s: %w", verb, c.kind, c.desc, err)
			}
			r.log.Debug("dhcp realizer: "+verb+" "+c.kind, "what", c.desc)
		}
		c.record(rep)
	}
	return nil
}

// teardown stops a network's server and removes its namespace.
func (r *Realizer) teardown(id string, exists bool, rep *Report, dry bool) error {
	var errs []error
	if cur := r.servers[id]; cur != nil {
		diffReservations(rep, id, cur.srv.Config(), nil)
		if !dry {
			errs = append(errs, cur.srv.Close())
			delete(r.servers, id)
		}
		report.Addf(rep, report.Delete, "server", "network %s", id)
	}
	if exists {
		name := naming.DHCPNamespace(id)
		errs = append(errs, r.execute(rep, dry, []change{{remove, "namespace", r.mgr.FullName(name), func() error {
			return r.mgr.Delete(name)
		}}}))
	}
	return errors.Join(errs...)
}

// realize converges one network: namespace, sysctls, veth pair, addresses,
// default routes, then the server.
func (r *Realizer) realize(cfg *Config, exists bool, host map[string]netlink.Link, rep *Report, dry bool) error {
	brName := naming.Bridge(cfg.NetworkID)
	br := host[brName]
	switch {
	case br == nil && dry:
		// Planning a fresh node: the network realizer, which runs first,
		// will have created the bridge by the time Apply plugs into it.
		br = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: brName}}
	case br == nil || br.Type() != "bridge":
		return errdefs.NotFound("bridge", "%s of network %s is missing from the host (the network realizer creates it)", brName, cfg.NetworkID)
	case br.Attrs().Alias != naming.OwnerAlias(network.KindBridge, cfg.NetworkID):
		// A bridge with our name that the network realizer did not make
		// is someone else's: never plug into it.
		return errdefs.Conflict("bridge", "%s of network %s exists and is not ours (alias %q)", brName, cfg.NetworkID, br.Attrs().Alias)
	}
	tapName, alias := naming.Tap(cfg.PortID), naming.OwnerAlias(ownerKind, cfg.PortID)
	tap := host[tapName]
	if tap != nil && tap.Attrs().Alias != alias {
		return errdefs.Conflict("ports", "host device %s of DHCP port %s exists and is not ours (alias %q)", tapName, cfg.PortID, tap.Attrs().Alias)
	}
	nsName := naming.DHCPNamespace(cfg.NetworkID)
	// A name that is no mount point is the file a crash inside namespace
	// creation leaves: Ensure takes it over, Open would fail on it.
	exists = exists && r.mgr.Exists(nsName)
	if !exists && dry {
		report.Addf(rep, report.Create, "namespace", "%s", r.mgr.FullName(nsName))
		w := &netWork{r: r, cfg: cfg, br: br, fresh: true}
		_ = r.execute(rep, true, append(w.sysctls(nil), w.pair(nil, nil, alias)...))
		_ = r.execute(rep, true, append(w.addresses(nil), w.routes(nil)...))
		return r.serve(cfg, nil, devID{}, rep, true)
	}
	var ns *namespace.Handle
	var err error
	if exists {
		ns, err = r.mgr.Open(nsName)
	} else {
		var created bool
		ns, created, err = r.mgr.Ensure(nsName)
		if created {
			report.Addf(rep, report.Create, "namespace", "%s", ns.Name())
		}
	}
	if err != nil {
		return err
	}
	defer ns.Close()
	w := &netWork{r: r, cfg: cfg, ns: ns, br: br}
	o, err := w.observe()
	if err != nil {
		return err
	}
	dev := o.links[cfg.Interface]
	if dev != nil && dev.Attrs().Alias != alias {
		return errdefs.Conflict("ports", "device %s of DHCP port %s exists in %s and is not ours (alias %q)", cfg.Interface, cfg.PortID, ns.Name(), dev.Attrs().Alias)
	}
	cs := w.sysctls(o)
	cs = append(cs, w.stale(o, alias)...)
	cs = append(cs, w.pair(tap, dev, alias)...)
	if w.fresh {
		o.addrs, o.routes = nil, nil
	}
	cs = append(cs, w.addresses(o)...)
	cs = append(cs, w.routes(o)...)
	if err := r.execute(rep, dry, cs); err != nil {
		return err
	}
	id := devID{ns: nsInode(ns)}
	if l, err := ns.Netlink().LinkByName(cfg.Interface); err == nil {
		id.ifindex = l.Attrs().Index
	} else if !dry {
		return nl.Err(err)
	}
	return r.serve(cfg, ns, id, rep, dry)
}

// serve starts, updates or restarts the network's server.
func (r *Realizer) serve(cfg *Config, ns *namespace.Handle, dev devID, rep *Report, dry bool) error {
	id := cfg.NetworkID
	cur := r.servers[id]
	if cur != nil {
		old := cur.srv.Config()
		if cur.portID == cfg.PortID && cur.dev == dev && old.HasV4() == cfg.HasV4() && old.HasV6() == cfg.HasV6() {
			if n := diffReservations(rep, id, old, cfg); n > 0 && !dry {
				r.log.Debug("dhcp realizer: live update", "network", id, "changes", n, "reservations", cfg.Reservations())
				return cur.srv.Update(cfg)
			}
			return nil
		}
		// Another device, a recreated one (the sockets are bound to the old
		// one) or other families: a new server.
		report.Addf(rep, report.Update, "server", "network %s on %s", id, cfg.Interface)
		diffReservations(rep, id, old, cfg)
		if dry {
			return nil
		}
		err := cur.srv.Close()
		delete(r.servers, id)
		if err != nil {
			r.log.Warn("dhcp server close", "network", id, "err", err)
		}
	} else {
		report.Addf(rep, report.Create, "server", "network %s on %s", id, cfg.Interface)
		diffReservations(rep, id, nil, cfg)
		if dry {
			return nil
		}
	}
	srv, err := NewServer(ns, cfg, WithServerLogger(r.log))
	if err != nil {
		return err
	}
	r.servers[id] = &running{srv: srv, portID: cfg.PortID, dev: dev}
	r.log.Debug("dhcp realizer: server started", "network", id, "device", cfg.Interface, "reservations", cfg.Reservations())
	return nil
}
