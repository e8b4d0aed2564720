package bgp

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/internal/report"
)

// Desired is what a node's BGP speaker should do: one Neutron BGP speaker
// (Neutron's os-ken driver also runs one per agent; a dual-stack node runs
// an IPv4 and an IPv6 speaker, i.e. two processes, see the package doc), the
// peers it may reference, and the objects its routes are computed from.
// The zero Desired (no speaker ID) stops BGP.
type Desired struct {
	Speaker Speaker
	// Peers are candidates, e.g. a topology's whole bgp_peers: the speaker's
	// Peers IDs select among them.
	Peers []Peer
	Inputs
	// RouterID is used when Speaker.RouterID is unset, e.g. the host's
	// tunnel IP. Without either, the source address the process's namespace
	// would use towards the first IPv4 peer is taken.
	RouterID netip.Addr
}

// Realizer realizes Desired on the process's Server. It follows Neutrino's
// realizer contract, except that it takes the Server instead of a namespace
// handle: gobgp opens its sockets in the namespace of the process.
type Realizer struct {
	srv *Server
	cfg config
	mu  sync.Mutex
	// table is the state of the last successful Apply, for
	// UpdateFloatingIPs; nil when there is none.
	table *routeTable
}

// Option configures a Realizer. A bad value makes NewRealizer fail.
type Option func(*config) error

type config struct {
	log         *slog.Logger
	listenPort  uint16
	listenAddrs []netip.Addr
	passive     bool
}

// WithListenPort makes the speaker accept sessions on port (default: it
// does not listen, as Neutron's os-ken driver).
func WithListenPort(port uint16, addrs ...netip.Addr) Option {
	return func(c *config) error {
		if port == 0 {
			return errdefs.Invalid("listen_port", "0 is not a TCP port (leave the option out not to listen)")
		}
		for i, a := range addrs {
			if !a.IsValid() {
				return errdefs.Invalid(fmt.Sprintf("listen_addresses[%d]", i), "not an IP address")
			}
		}
		c.listenPort, c.listenAddrs = port, addrs
		return nil
	}
}

// WithLogger sets the realizer's logger (default: the Server's).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithPassive makes the speaker wait for its peers to connect.
func WithPassive() Option {
	return func(c *config) error { c.passive = true; return nil }
}

// NewRealizer returns a realizer driving srv, the process's speaker (its
// "host": gobgp opens its sockets in the process's namespace).
func NewRealizer(srv *Server, opts ...Option) (*Realizer, error) {
	if srv == nil {
		return nil, errdefs.Invalid("server", "bgp: NewRealizer needs a Server")
	}
	r := &Realizer{srv: srv, cfg: config{log: cmp.Or(srv.log, option.Discard())}}
	if err := option.Apply(&r.cfg, opts); err != nil {
		return nil, fmt.Errorf("bgp: %w", err)
	}
	return r, nil
}

// Close releases nothing: the Server, which outlives its Realizers (one
// per process), is the caller's to Stop. It is here so that every realizer
// closes the same way.
func (r *Realizer) Close() error { return nil }

// Apply converges the server to d: starts (or, when the AS or router ID
// changed, restarts) BGP, syncs peers, and announces exactly the routes
// Compute derives. A second Apply of the same d issues nothing.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, false)
}

// Plan reports what Apply would do, changing nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, d, true)
}

func (r *Realizer) run(ctx context.Context, d Desired, dry bool) (*Report, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t *routeTable
	t0 := time.Now()
	if d.Speaker.ID != "" {
		t = newRouteTable(d.Speaker, d.Inputs)
	}
	rep, err := r.runLocked(ctx, d, t, time.Since(t0), dry)
	if !dry {
		r.table = nil
		if err == nil {
			r.table = t
		}
	}
	return rep, err
}

// runLocked converges to d, whose candidate routes are t (built in
// tCompute). The caller holds r.mu.
func (r *Realizer) runLocked(ctx context.Context, d Desired, t *routeTable, tCompute time.Duration, dry bool) (*Report, error) {
	rep := &Report{}
	cur, running := r.srv.Running()
	if d.Speaker.ID == "" {
		if running {
			report.Recordf(rep, report.Delete, "speaker", "stop speaker AS %d router-id %s", cur.AS, cur.RouterID)
			if !dry {
				return rep, r.srv.Stop(ctx)
			}
		}
		return rep, nil
	}
	if err := d.Speaker.Validate(); err != nil {
		return rep, fmt.Errorf("bgp speaker %s: %w", d.Speaker.ID, err)
	}
	peers, err := d.speakerPeers()
	if err != nil {
		return rep, err
	}
	if err := r.srv.validatePeers(peers); err != nil {
		return rep, err
	}
	g := Global{
		AS:              uint32(d.Speaker.LocalAS),
		RouterID:        d.routerID(peers),
		ListenPort:      r.cfg.listenPort,
		ListenAddresses: r.cfg.listenAddrs,
		Passive:         r.cfg.passive,
	}
	if err := g.validate(); err != nil {
		return rep, fmt.Errorf("bgp speaker %s: %w", d.Speaker.ID, err)
	}
	routes := t.routes()

	fresh := !running || !cur.equal(g)
	if fresh {
		if running {
			report.Recordf(rep, report.Update, "speaker", "restart speaker %s as AS %d router-id %s (was AS %d router-id %s)",
				d.Speaker.ID, g.AS, g.RouterID, cur.AS, cur.RouterID)
		} else {
			report.Recordf(rep, report.Create, "speaker", "start speaker %s AS %d router-id %s", d.Speaker.ID, g.AS, g.RouterID)
		}
		if !dry {
			if err := r.srv.Stop(ctx); err != nil {
				return rep, err
			}
			if err := r.srv.Start(ctx, g); err != nil {
				return rep, err
			}
		}
	}
	var errs []error
	// The attributes first: the routes announced below carry them.
	ar, err := r.srv.setPathAttributes(ctx, d.Speaker.PathAttributes(), dry)
	rep.Merge(ar)
	errs = appendErr(errs, err)
	if dry && fresh {
		// A (re)started server has no peers and no routes yet.
		for _, rt := range routes {
			report.Recordf(rep, report.Create, "route", "advertise %s", rt)
		}
		for _, p := range peers {
			report.Recordf(rep, report.Create, "peer", "add peer %s %s AS %d", p.ID, p.PeerIP, p.RemoteAS)
		}
		return rep, joinErrsOrNil(errs)
	}
	sync := func(ctx context.Context, peers []Peer) (*Report, error) {
		return r.srv.syncPeers(ctx, peers, d.Speaker.IPVersion, dry)
	}
	syncRoutes := r.srv.Apply
	if dry {
		syncRoutes = r.srv.Plan
	}
	// Routes before peers: a session that comes up (after a restart of this
	// process, or a new peer) is sent the complete table in one dump, then
	// End-of-RIB, so a graceful-restart peer drops exactly the stale routes
	// that are gone, and nothing else.
	t1 := time.Now()
	rr, err := syncRoutes(ctx, routes)
	rep.Merge(rr)
	errs = appendErr(errs, err)
	t2 := time.Now()
	pr, err := sync(ctx, peers)
	rep.Merge(pr)
	errs = appendErr(errs, err)
	r.cfg.log.Debug("bgp speaker synced", "speaker", d.Speaker.ID, "dry_run", dry, "routes", len(routes),
		"mutations", rep.Mutations(), "compute", tCompute, "paths", t2.Sub(t1), "peers", time.Since(t2))
	if len(errs) > 0 {
		return rep, fmt.Errorf("bgp speaker %s: %w", d.Speaker.ID, joinErrs(errs))
	}
	return rep, nil
}

// speakerPeers resolves the speaker's peer IDs.
func (d *Desired) speakerPeers() ([]Peer, error) {
	byID := make(map[string]Peer, len(d.Peers))
	for _, p := range d.Peers {
		byID[p.ID] = p
	}
	var out []Peer
	var errs []error
	for i, id := range uniq(d.Speaker.Peers) {
		p, ok := byID[id]
		if !ok {
			errs = append(errs, errdefs.NotFound(errdefs.Index("peers", i), "speaker %s: no bgp peer %s", d.Speaker.ID, id))
			continue
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bgp speaker %s: %w", d.Speaker.ID, joinErrs(errs))
	}
	return out, nil
}

// routerID picks the BGP identifier: the speaker's, the desired fallback,
// or the source address towards the first IPv4 peer.
func (d *Desired) routerID(peers []Peer) netip.Addr {
	if d.Speaker.RouterID.IsValid() {
		return d.Speaker.RouterID
	}
	if d.RouterID.IsValid() {
		return d.RouterID
	}
	for _, p := range peers {
		if p.PeerIP.Is4() {
			if a, ok := sourceAddr(p.PeerIP); ok {
				return a
			}
		}
	}
	return netip.Addr{}
}

// sourceAddr asks the kernel which source address it would use towards dst
// in the process's namespace. Connecting a UDP socket sends nothing.
func sourceAddr(dst netip.Addr) (netip.Addr, bool) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 179)))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	a := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	return a, a.Is4() && !a.IsUnspecified()
}
