package ra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/mdlayher/ndp"

	"github.com/neutrino-net/neutrino/namespace"
)

// Server sends the router advertisements of every interface a process
// advertises on, one socket and two goroutines per interface, all in the
// caller's process (no radvd per router). Interfaces are grouped (a router
// namespace is a group) so a whole group can be withdrawn at once. It is
// safe for concurrent use.
type Server struct {
	timing Timing
	log    *slog.Logger
	dial   Dialer

	mu     sync.Mutex
	groups map[string]map[string]*advertiser // group -> interface name -> advertiser
	closed bool
}

// Dialer opens the socket of interface ifname inside namespace ns.
type Dialer func(ns *namespace.Handle, ifname string) (Conn, error)

// Option configures a Server.
type Option func(*Server)

// WithTiming sets the intervals (default DefaultTiming).
func WithTiming(t Timing) Option { return func(s *Server) { s.timing = t } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.log = l
		}
	}
}

// WithDialer replaces how sockets are opened (default: Listen inside the
// namespace); tests inject connections of their own.
func WithDialer(d Dialer) Option { return func(s *Server) { s.dial = d } }

// NewServer returns a Server; invalid timing is an error.
func NewServer(opts ...Option) (*Server, error) {
	s := &Server{timing: DefaultTiming(), log: slog.New(slog.DiscardHandler), dial: listenIn, groups: map[string]map[string]*advertiser{}}
	for _, o := range opts {
		o(s)
	}
	if err := s.timing.Validate(); err != nil {
		return nil, fmt.Errorf("ra timing: %w", err)
	}
	return s, nil
}

// listenIn opens the socket inside ns: a raw socket belongs to the
// namespace it is created in.
func listenIn(ns *namespace.Handle, ifname string) (Conn, error) {
	var c *RawConn
	err := ns.Do(func() error {
		var err error
		c, err = Listen(ifname)
		return err
	})
	return c, err
}

// Timing returns the server's intervals.
func (s *Server) Timing() Timing { return s.timing }

// Status is what an interface advertises and how its sending goes.
type Status struct {
	Link Link
	// Index is the interface's index when its socket was opened: a device
	// deleted and created again under the same name needs a new socket.
	Index int
	// Sent counts the RAs sent on the interface.
	Sent uint64
	// Err is the last send's error, nil once one succeeds.
	Err error
}

// Links returns the interfaces of group that advertise, by name.
func (s *Server) Links(group string) map[string]Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Status, len(s.groups[group]))
	for name, a := range s.groups[group] {
		out[name] = a.status()
	}
	return out
}

// Groups returns the groups that have advertising interfaces, sorted.
func (s *Server) Groups() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.groups))
}

// Advertise makes interface ifname (index index) of group advertise l from
// now on: a new interface gets its socket, opened inside ns, and an RA at
// once; a changed Link is sent at once on the socket it has; an unchanged
// one is left alone. An interface whose index or namespace changed (made
// again; a new namespace may give it the index it had) gets a new socket.
func (s *Server) Advertise(ns *namespace.Handle, group, ifname string, index int, l Link) error {
	if err := l.Validate(); err != nil {
		return fmt.Errorf("ra on %s: %w", ifname, err)
	}
	if len(l.Prefixes) == 0 {
		return fmt.Errorf("ra on %s: no prefixes to advertise", ifname)
	}
	nsID := NamespaceID(ns)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("ra server closed")
	}
	if a := s.groups[group][ifname]; a != nil {
		if a.index == index && a.nsID == nsID {
			if !a.status().Link.Equal(l) {
				a.update(l)
			}
			s.mu.Unlock()
			return nil
		}
		delete(s.groups[group], ifname)
		s.mu.Unlock()
		a.stop()
	} else {
		s.mu.Unlock()
	}
	// Opening the socket switches a thread into the namespace: done
	// without the lock, so that routers realized concurrently open theirs
	// at the same time.
	c, err := s.dial(ns, ifname)
	if err != nil {
		return fmt.Errorf("ra socket on %s: %w", ifname, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.groups[group][ifname] != nil {
		// Closed meanwhile, or a concurrent call for the same interface
		// won: keep one socket.
		_ = c.Close()
		if s.closed {
			return errors.New("ra server closed")
		}
		return nil
	}
	if s.groups[group] == nil {
		s.groups[group] = map[string]*advertiser{}
	}
	s.groups[group][ifname] = newAdvertiser(c, nsID, index, l, s.timing, s.log.With("group", group, "interface", ifname))
	return nil
}

// Withdraw stops interface ifname of group advertising: its final RAs
// (router lifetime 0) go out before Withdraw returns, so call it before the
// interface or its addresses go away. An interface that does not advertise
// is no error.
func (s *Server) Withdraw(group, ifname string) error {
	s.mu.Lock()
	a := s.groups[group][ifname]
	if a != nil {
		delete(s.groups[group], ifname)
		if len(s.groups[group]) == 0 {
			delete(s.groups, group)
		}
	}
	s.mu.Unlock()
	if a == nil {
		return nil
	}
	if err := a.withdraw(); err != nil {
		return fmt.Errorf("final ra on %s: %w", ifname, err)
	}
	return nil
}

// Goodbye sends the final RAs (router lifetime 0) of an interface the
// server does not advertise on, from a socket opened inside ns for them:
// for an interface that goes after the process restarted, when what it
// advertised is no longer known. Hosts that use the router drop their
// default route; others ignore it.
func (s *Server) Goodbye(ns *namespace.Handle, ifname string, mac net.HardwareAddr, source netip.Addr) error {
	l := Link{MAC: mac, Source: source}
	if err := l.Validate(); err != nil {
		return fmt.Errorf("final ra on %s: %w", ifname, err)
	}
	c, err := s.dial(ns, ifname)
	if err != nil {
		return fmt.Errorf("ra socket on %s: %w", ifname, err)
	}
	defer c.Close()
	b, err := ndp.MarshalMessage(Final(l, s.timing))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for range s.timing.FinalCount {
		if err := c.WriteTo(ctx, b, source, allNodes); err != nil {
			return fmt.Errorf("final ra on %s: %w", ifname, err)
		}
	}
	return nil
}

// WithdrawGroup withdraws every interface of group.
func (s *Server) WithdrawGroup(group string) error {
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.groups[group]))
	s.mu.Unlock()
	var errs []error
	for _, n := range names {
		errs = append(errs, s.Withdraw(group, n))
	}
	return errors.Join(errs...)
}

// Close stops every interface without final RAs: hosts keep their routes
// for the router lifetime, so an agent that restarts (and advertises again
// within it) does not cut them off. Use Withdraw for interfaces that go.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	groups := s.groups
	s.groups = map[string]map[string]*advertiser{}
	s.mu.Unlock()
	for _, g := range groups {
		for _, a := range g {
			a.stop()
		}
	}
	return nil
}
