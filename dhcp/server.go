package dhcp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// readBuf is the receive buffer of each reader: DHCP messages fit one
// Ethernet frame, jumbo frames included.
const readBuf = 16 << 10

// Server is one network's DHCP server: a DHCPv4 and/or a DHCPv6 socket bound
// to the DHCP port's device inside the qdhcp namespace, and reader goroutines
// that answer from the current Config. The sockets stay in their namespace
// whatever thread the readers run on.
type Server struct {
	log *slog.Logger
	cfg atomic.Pointer[Config]

	conn4, conn6 *net.UDPConn
	// neigh installs a neighbour entry yiaddr -> chaddr on the DHCP device,
	// so a plain UDP unicast reaches a client that cannot answer ARP yet.
	neigh   func(ip netip.Addr, mac net.HardwareAddr) error
	release func() error // closes what NewServer opened besides the sockets

	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	acks4, replies6 atomic.Uint64
}

// Stats counts what a server has answered since it started.
type Stats struct {
	// Acks4 counts DHCPv4 ACKs sent: leases granted or renewed.
	Acks4 uint64
	// Replies6 counts DHCPv6 Reply messages sent.
	Replies6 uint64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats { return Stats{Acks4: s.acks4.Load(), Replies6: s.replies6.Load()} }

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithServerLogger sets the logger; every decision is logged at debug level.
func WithServerLogger(l *slog.Logger) ServerOption {
	return func(s *Server) {
		if l != nil {
			s.log = l
		}
	}
}

// Config returns the Config the server answers from.
func (s *Server) Config() *Config { return s.cfg.Load() }

// Update makes the server answer from cfg from the next packet on, without
// closing its sockets: exchanges in flight continue. A Config for another
// device or with another set of families needs a new Server (ErrConflict).
func (s *Server) Update(cfg *Config) error {
	old := s.cfg.Load()
	if cfg.Interface != old.Interface || cfg.HasV4() != old.HasV4() || cfg.HasV6() != old.HasV6() {
		return errdefs.Conflict("interface", "server on %s (v4=%v v6=%v) cannot serve %s (v4=%v v6=%v) without a restart",
			old.Interface, old.HasV4(), old.HasV6(), cfg.Interface, cfg.HasV4(), cfg.HasV6())
	}
	s.cfg.Store(cfg)
	return nil
}

// Close stops the readers and closes the sockets. It is safe to call twice.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, c := range []*net.UDPConn{s.conn4, s.conn6} {
			if c != nil {
				errs = append(errs, c.Close())
			}
		}
		s.wg.Wait()
		if s.release != nil {
			errs = append(errs, s.release())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// start launches the readers: several per socket, since a UDP socket can be
// read concurrently and each reader answers its packet itself.
func (s *Server) start() {
	n := min(max(runtime.GOMAXPROCS(0), 2), 8)
	if s.conn4 != nil {
		for range n {
			s.wg.Add(1)
			go s.loop(s.conn4, s.serve4)
		}
	}
	if s.conn6 != nil {
		for range 2 {
			s.wg.Add(1)
			go s.loop(s.conn6, s.serve6)
		}
	}
}

func (s *Server) loop(conn *net.UDPConn, serve func(*net.UDPConn, []byte, netip.AddrPort)) {
	defer s.wg.Done()
	buf := make([]byte, readBuf)
	for {
		n, peer, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("dhcp read", "network", s.cfg.Load().NetworkID, "err", err)
			continue
		}
		s.safely(func() { serve(conn, buf[:n], peer) })
	}
}

// safely keeps one bad packet from taking the node agent down: the parsers
// are third-party code fed by anyone on the network.
func (s *Server) safely(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("dhcp handler panic (packet dropped)", "network", s.cfg.Load().NetworkID, "panic", fmt.Sprint(r))
		}
	}()
	fn()
}

func (s *Server) serve4(conn *net.UDPConn, b []byte, peer netip.AddrPort) {
	req, err := dhcpv4.FromBytes(b)
	if err != nil {
		s.log.Debug("dhcp4 drop: malformed", "peer", peer, "err", err)
		return
	}
	r := s.cfg.Load().handle4(req, s.log)
	if r == nil {
		return
	}
	if r.neigh && s.neigh != nil {
		if err := s.neigh(r.dst.Addr(), req.ClientHWAddr); err != nil {
			s.log.Debug("dhcp4 neighbour entry", "ip", r.dst.Addr(), "mac", req.ClientHWAddr.String(), "err", err)
		}
	}
	if _, err := conn.WriteToUDPAddrPort(r.pkt, r.dst); err != nil {
		s.log.Debug("dhcp4 send", "dst", r.dst, "err", err)
	} else if r.typ == dhcpv4.MessageTypeAck {
		s.acks4.Add(1)
	}
}

func (s *Server) serve6(conn *net.UDPConn, b []byte, peer netip.AddrPort) {
	msg, err := dhcpv6.FromBytes(b)
	if err != nil {
		s.log.Debug("dhcp6 drop: malformed", "peer", peer, "err", err)
		return
	}
	r := s.cfg.Load().handle6(msg, peer, s.log)
	if r == nil {
		return
	}
	// The socket is bound to the device, which scopes link-local
	// destinations; the zone Go derived from the host's interface table
	// would name the wrong device.
	dst := netip.AddrPortFrom(r.dst.Addr().WithZone(""), r.dst.Port())
	if _, err := conn.WriteToUDPAddrPort(r.msg.ToBytes(), dst); err != nil {
		s.log.Debug("dhcp6 send", "dst", dst, "err", err)
	} else if r.msg.Type() == dhcpv6.MessageTypeReply {
		s.replies6.Add(1)
	}
}
