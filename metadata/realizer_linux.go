package metadata

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// Report counts listeners opened ("create listener …") and closed.
type Report = report.Report

// Realizer keeps the node's metadata listeners and serves them. Safe for
// concurrent use; Applies run one at a time.
type Realizer struct {
	cfg Config
	mgr *namespace.Manager
	log *slog.Logger
	p   *proxy
	srv *http.Server

	mu     sync.Mutex
	lns    map[Scope]*nsListener
	closed bool
}

// nsListener is a scope's sockets and the namespace they were made in.
type nsListener struct {
	ns    string    // full namespace name
	ino   [2]uint64 // device and inode of the namespace when opened
	addrs []string
	socks []*trackedListener
}

// NewRealizer returns the node's metadata service. A Config without a
// shared secret or with a bad Nova URL is an ErrInvalid: metadata stays
// off.
func NewRealizer(cfg Config, opts ...Option) (*Realizer, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	cfg, nova, err := cfg.validated()
	if err != nil {
		return nil, err
	}
	r := &Realizer{cfg: cfg, mgr: namespace.NewManager(o.prefix), log: o.log, lns: map[Scope]*nsListener{}}
	r.p = newProxy(cfg, nova, o.log)
	if h := o.upstream; h != nil {
		d := net.Dialer{Timeout: cfg.Timeout}
		// A socket belongs to the namespace of the thread that creates it;
		// Do runs the dial on a thread in h, and the connection is then
		// used from any goroutine.
		r.p.up.dial = func(ctx context.Context, network, addr string) (c net.Conn, err error) {
			err = h.Do(func() error {
				var err error
				c, err = d.DialContext(ctx, network, addr)
				return err
			})
			return c, err
		}
	}
	r.srv = &http.Server{
		Handler:           r.p,
		ReadHeaderTimeout: 30 * time.Second, // haproxy's timeout http-request in Neutron
		IdleTimeout:       30 * time.Second, // … and http-keep-alive
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(o.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if sc, ok := c.(*scopedConn); ok {
				return context.WithValue(ctx, ctxKey{}, sc.scope)
			}
			return ctx
		},
	}
	return r, nil
}

// RouterPort is the port the router listeners use: the target of the
// router realizer's redirect (router.WithMetadataPort).
func (r *Realizer) RouterPort() uint16 { return r.cfg.RouterPort }

// Stats returns the request counters and the number of open listeners.
func (r *Realizer) Stats() Stats {
	s := r.p.stats.snapshot()
	r.mu.Lock()
	s.Listeners = len(r.lns)
	r.mu.Unlock()
	return s
}

// Apply makes the listeners match d and swaps in d's instance map. A
// namespace that is missing (its router or DHCP realizer has not made it)
// is an error naming the router or network; the others are served.
func (r *Realizer) Apply(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, false)
}

// Plan reports which listeners Apply would open and close, changing
// nothing.
func (r *Realizer) Plan(ctx context.Context, d Desired) (*Report, error) {
	return r.run(ctx, &d, true)
}

func (r *Realizer) run(ctx context.Context, d *Desired, dry bool) (*Report, error) {
	rep := &Report{}
	want, err := r.wanted(d)
	if err != nil {
		return rep, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return rep, fmt.Errorf("metadata realizer: %w", net.ErrClosed)
	}
	if !dry {
		// The map first: a new listener serves the new ports at once.
		r.p.ix.Store(buildIndex(d, r.cfg.SharedSecret, r.p.ix.Load()))
	}
	stale := map[Scope]bool{}
	for s, l := range r.lns {
		w, ok := want[s]
		if ok && slices.Equal(w.addrs, l.addrs) && r.sameNamespace(l) {
			continue
		}
		report.Addf(rep, report.Delete, "listener", "%s in %s", s, l.ns)
		stale[s] = true
		if !dry {
			l.close()
			delete(r.lns, s)
		}
	}
	var errs []error
	for _, s := range sortedScopes(want) {
		if _, ok := r.lns[s]; ok && !stale[s] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		l := want[s]
		if dry {
			report.Addf(rep, report.Create, "listener", "%s in %s %v", s, l.ns, l.addrs)
			continue
		}
		if err := r.open(s, l); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
			continue
		}
		r.lns[s] = l
		report.Addf(rep, report.Create, "listener", "%s in %s %v", s, l.ns, l.addrs)
	}
	if n := len(rep.Changes); n > 0 {
		r.log.Info("metadata listeners realized", "changes", n, "listeners", len(r.lns))
	}
	return rep, errors.Join(errs...)
}

// Close stops every listener and connection. The namespaces stay.
func (r *Realizer) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for s, l := range r.lns {
		l.close()
		delete(r.lns, s)
	}
	r.p.up.close()
	return r.srv.Close()
}

func sortedScopes(m map[Scope]*nsListener) []Scope {
	out := make([]Scope, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Scope) int {
		switch {
		case a.String() < b.String():
			return -1
		case a.String() > b.String():
			return 1
		}
		return 0
	})
	return out
}

// wanted is the listener of every scope of d, not yet open.
func (r *Realizer) wanted(d *Desired) (map[Scope]*nsListener, error) {
	want := map[Scope]*nsListener{}
	var errs []error
	for i, id := range d.Routers {
		if id == "" {
			errs = append(errs, errdefs.Invalid(errdefs.Index("routers", i), "empty router ID"))
			continue
		}
		// One dual-stack socket: the router's redirect sends both
		// 169.254.169.254 and fe80::a9fe:a9fe here (Neutron binds haproxy
		// to :: when IPv6 is on), and one descriptor per router stays one.
		want[Scope{Router: true, ID: id}] = &nsListener{ns: r.mgr.FullName(naming.RouterNamespace(id)),
			addrs: []string{netip.AddrPortFrom(netip.IPv6Unspecified(), r.cfg.RouterPort).String()}}
	}
	for i, n := range d.Networks {
		if n.ID == "" {
			errs = append(errs, errdefs.Invalid(errdefs.Index("networks", i)+".id", "empty network ID"))
			continue
		}
		addrs := []string{net.JoinHostPort(Address, "80")}
		if n.IPv6 {
			if n.DHCPPortID == "" {
				errs = append(errs, errdefs.Invalid(errdefs.Index("networks", i)+".dhcp_port_id", "network %s has IPv6 but no DHCP port on this node", n.ID))
				continue
			}
			addrs = append(addrs, net.JoinHostPort(AddressV6+"%"+naming.DHCPInterface(n.DHCPPortID), "80"))
		}
		want[Scope{ID: n.ID}] = &nsListener{ns: r.mgr.FullName(naming.DHCPNamespace(n.ID)), addrs: addrs}
	}
	return want, errors.Join(errs...)
}

// open creates l's sockets inside its namespace and serves them.
func (r *Realizer) open(s Scope, l *nsListener) error {
	path := namespace.NewManager("").Path(l.ns)
	ino, err := nsInode(path)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", l.ns, errdefs.ErrNotFound)
	}
	h, err := namespace.OpenPath(path)
	if err != nil {
		return err
	}
	defer h.Close()
	l.ino = ino
	lc := net.ListenConfig{Control: freebind}
	err = h.Do(func() error {
		for _, a := range l.addrs {
			ln, err := lc.Listen(context.Background(), listenNetwork(a), a)
			if err != nil && errors.Is(err, unix.EAFNOSUPPORT) && strings.HasPrefix(a, "[::]:") {
				// A kernel without IPv6: the router listener serves IPv4.
				ln, err = lc.Listen(context.Background(), "tcp4", "0.0.0.0"+strings.TrimPrefix(a, "[::]"))
			}
			if err != nil {
				return fmt.Errorf("listen on %s in %s: %w", a, l.ns, err)
			}
			l.socks = append(l.socks, &trackedListener{Listener: ln, scope: s, conns: map[net.Conn]struct{}{}})
		}
		return nil
	})
	if err != nil {
		l.close()
		return err
	}
	for _, t := range l.socks {
		go func() { _ = r.srv.Serve(t) }()
	}
	return nil
}

// listenNetwork is the network of a listener address: "tcp" (dual-stack)
// for the unspecified IPv6 address, "tcp6" (IPv6 only) for another IPv6
// address, "tcp4" for IPv4.
func listenNetwork(a string) string {
	switch {
	case strings.HasPrefix(a, "[::]:"):
		return "tcp"
	case strings.HasPrefix(a, "["):
		return "tcp6"
	}
	return "tcp4"
}

// sameNamespace reports whether l's namespace is still the one its
// sockets live in: a namespace deleted and made again under the same name
// needs new sockets.
func (r *Realizer) sameNamespace(l *nsListener) bool {
	ino, err := nsInode(namespace.NewManager("").Path(l.ns))
	return err == nil && ino == l.ino
}

func nsInode(path string) ([2]uint64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return [2]uint64{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return [2]uint64{}, fmt.Errorf("stat %s: no inode", path)
	}
	return [2]uint64{uint64(st.Dev), st.Ino}, nil
}

// freebind lets the DHCP listener bind 169.254.169.254 and the IPv6
// address before the DHCP realizer has added them, or while IPv6 DAD has
// them tentative.
func freebind(network, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if network == "tcp6" {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_FREEBIND, 1)
		}
	})
	return errors.Join(err, serr)
}

func (l *nsListener) close() {
	for _, t := range l.socks {
		t.closeAll()
	}
	l.socks = nil
}

// trackedListener tags its connections with the scope and closes them
// with the listener, so a removed router's guests are cut off at once.
type trackedListener struct {
	net.Listener
	scope Scope
	mu    sync.Mutex
	done  bool
	conns map[net.Conn]struct{}
	once  sync.Once
	cerr  error
}

// Close is idempotent: the realizer closes a removed router's listener
// at once, and http.Server.Close closes it again if its Serve goroutine
// has not yet noticed; the second close must not report an error.
func (t *trackedListener) Close() error {
	t.once.Do(func() { t.cerr = t.Listener.Close() })
	return t.cerr
}

// maxConnsPerListener bounds the descriptors one router or network can
// hold open: connections beyond it are closed at once.
const maxConnsPerListener = 128

func (t *trackedListener) Accept() (net.Conn, error) {
	for {
		c, err := t.Listener.Accept()
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		if t.done {
			t.mu.Unlock()
			c.Close()
			return nil, net.ErrClosed
		}
		if len(t.conns) >= maxConnsPerListener {
			t.mu.Unlock()
			c.Close()
			continue
		}
		sc := &scopedConn{Conn: c, scope: t.scope, l: t}
		t.conns[sc] = struct{}{}
		t.mu.Unlock()
		return sc, nil
	}
}

func (t *trackedListener) forget(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

func (t *trackedListener) closeAll() {
	t.mu.Lock()
	t.done = true
	conns := t.conns
	t.conns = nil
	t.mu.Unlock()
	_ = t.Close()
	for c := range conns {
		_ = c.(*scopedConn).Conn.Close()
	}
}

// scopedConn carries its listener's scope to ConnContext.
type scopedConn struct {
	net.Conn
	scope Scope
	l     *trackedListener
	once  sync.Once
}

func (c *scopedConn) Close() error {
	c.once.Do(func() { c.l.forget(c) })
	return c.Conn.Close()
}
