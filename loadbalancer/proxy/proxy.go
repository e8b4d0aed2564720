package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Member is a backend in rotation.
type Member struct {
	ID     string
	Addr   netip.AddrPort
	Weight int
}

// Pool is a set of members and how to choose among them.
type Pool struct {
	ID        string
	Algorithm string // ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP
	SourceIP  bool   // stick by client address
	Cookie    string // HTTP_COOKIE persistence: the cookie's name; "" for none
	Members   []Member
}

// Rule is an L7 rule (Octavia's type, compare_type, key, value, invert).
type Rule struct {
	Type, Compare, Key, Value string
	Invert                    bool
}

// Policy is an L7 policy: when all its rules match, its action applies.
type Policy struct {
	ID     string
	Action string // REJECT, REDIRECT_TO_POOL, REDIRECT_TO_URL, REDIRECT_PREFIX
	Pool   string
	URL    string
	Prefix string
	Code   int
	Rules  []Rule
}

// Listener is one listening address and what it serves.
type Listener struct {
	ID             string
	HTTP           bool
	Addr           netip.AddrPort
	Limit          int // -1: none
	DefaultPool    string
	Pools          map[string]*Pool
	Policies       []Policy // in evaluation order
	ForwardedFor   bool
	ForwardedProto bool
	ForwardedPort  bool
	ConnectTimeout time.Duration
	ClientTimeout  time.Duration
	MemberTimeout  time.Duration
}

// Net opens sockets inside a load balancer's namespace.
type Net interface {
	Listen(network, addr string) (net.Listener, error)
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Proxy serves the listeners of every load balancer of an agent.
type Proxy struct {
	log *slog.Logger

	mu     sync.Mutex
	groups map[string]map[string]*server // group (load balancer) → listener ID
}

// New returns an empty proxy.
func New(log *slog.Logger) *Proxy {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Proxy{log: log, groups: map[string]map[string]*server{}}
}

// Set makes group's listeners match ls: new ones listen, removed ones
// close, changed ones swap their state (or rebind, when their address,
// mode or limit changed). Errors name the listener; the others are set.
func (p *Proxy) Set(group string, n Net, ls []Listener) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.groups[group]
	cur := make(map[string]*server, len(ls))
	var errs []error
	for i := range ls {
		l := ls[i]
		st, err := compile(&l)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if s := old[l.ID]; s != nil && s.rebindless(&l) {
			s.state.Store(st)
			cur[l.ID] = s
			delete(old, l.ID)
			continue
		}
		if s := old[l.ID]; s != nil {
			s.close()
			delete(old, l.ID)
		}
		s, err := start(p.log, n, &l, st)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cur[l.ID] = s
	}
	for _, s := range old {
		s.close()
	}
	if len(cur) == 0 {
		delete(p.groups, group)
	} else {
		p.groups[group] = cur
	}
	return errors.Join(errs...)
}

// Remove closes every listener of group.
func (p *Proxy) Remove(group string) { _ = p.Set(group, nil, nil) }

// Listeners returns the IDs of group's listeners being served.
func (p *Proxy) Listeners(group string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for id := range p.groups[group] {
		out = append(out, id)
	}
	return out
}

// Close closes every listener.
func (p *Proxy) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for g, ss := range p.groups {
		for _, s := range ss {
			s.close()
		}
		delete(p.groups, g)
	}
}

// server is one listening socket.
type server struct {
	log   *slog.Logger
	net   Net
	addr  netip.AddrPort
	http  bool
	limit int
	ln    net.Listener
	state atomic.Pointer[state]
	idle  *idlePool // HTTP: kept-alive member connections
	done  chan struct{}
	wg    sync.WaitGroup
	stop  func()
}

func (s *server) rebindless(l *Listener) bool {
	return s.addr == l.Addr && s.http == l.HTTP && s.limit == l.Limit
}

func start(log *slog.Logger, n Net, l *Listener, st *state) (*server, error) {
	ln, err := n.Listen("tcp", l.Addr.String())
	if err != nil {
		return nil, err
	}
	if l.Limit >= 0 {
		ln = &limitListener{Listener: ln, sem: make(chan struct{}, max(l.Limit, 1))}
	}
	s := &server{log: log.With("listener", l.ID), net: n, addr: l.Addr, http: l.HTTP, limit: l.Limit, ln: ln, done: make(chan struct{})}
	s.state.Store(st)
	if l.HTTP {
		s.serveHTTP()
	} else {
		s.wg.Add(1)
		go s.serveTCP()
	}
	return s, nil
}

func (s *server) close() {
	close(s.done)
	_ = s.ln.Close()
	if s.stop != nil {
		s.stop()
	}
	s.wg.Wait()
}

// limitListener stops accepting while limit connections are open.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
}

// Close also wakes an Accept waiting for a slot.
func (l *limitListener) Close() error {
	err := l.Listener.Close()
	select {
	case <-l.sem:
	default:
	}
	return err
}

type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// CloseWrite half-closes when the underlying connection can.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
