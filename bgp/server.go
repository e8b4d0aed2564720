package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/config/oc"
	"github.com/osrg/gobgp/v3/pkg/server"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
)

// Server is the process's embedded BGP speaker: one gobgp server, created by
// NewServer and kept for the life of the process. gobgp's Serve loop never
// returns, so a Server is reconfigured (Start, Stop, SetPeers, Apply), never
// recreated. It opens its sockets on its own goroutines, in the network
// namespace of the process (see the package documentation).
//
// All methods are safe for concurrent use; mutations are serialized.
type Server struct {
	log   *slog.Logger
	bgp   *server.BgpServer
	peers *peerBook
	cfg   serverConfig

	events  chan PeerEvent
	dropped atomic.Uint64

	mu sync.Mutex
	// restarting holds until the first SetPeers after NewServer: the
	// peers it adds are told this process restarted (graceful restart).
	restarting bool
	running    bool
	global     Global
	advertised map[netip.Prefix]netip.Addr
	origin     *anypb.Any // ORIGIN IGP, on every path
	attrs      encodedAttrs
}

// Global is the BGP instance configuration. Changing it needs Stop and Start,
// which resets every session.
type Global struct {
	// AS is the local autonomous system number (the speaker's local_as).
	AS uint32
	// RouterID is the 32-bit BGP identifier, written as an IPv4 address.
	RouterID netip.Addr
	// ListenPort is the TCP port to accept sessions on. 0, the default, does
	// not listen: like Neutron's os-ken driver, the speaker only initiates
	// sessions and peers are passive.
	ListenPort uint16
	// ListenAddresses restricts listening to these addresses (default: all).
	ListenAddresses []netip.Addr
	// Passive makes every peer wait for the remote side to connect instead of
	// connecting. With ListenPort 0 sessions never come up: peers are only
	// configured (useful to stage a configuration, and for tests).
	Passive bool
}

func (g Global) validate() error {
	var errs []error
	if g.AS == 0 {
		errs = append(errs, errdefs.Invalid("local_as", "must be 1-4294967295"))
	}
	if !g.RouterID.Is4() || g.RouterID.IsUnspecified() {
		errs = append(errs, errdefs.Invalid("router_id", "%v is not a non-zero IPv4 address", g.RouterID))
	}
	for i, a := range g.ListenAddresses {
		if !a.IsValid() {
			errs = append(errs, errdefs.Invalid(errdefs.Index("listen_addresses", i), "invalid address"))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("bgp global: %w", joinErrs(errs))
	}
	return nil
}

func (g Global) equal(o Global) bool {
	if g.AS != o.AS || g.RouterID != o.RouterID || g.ListenPort != o.ListenPort ||
		g.Passive != o.Passive || len(g.ListenAddresses) != len(o.ListenAddresses) {
		return false
	}
	for i := range g.ListenAddresses {
		if g.ListenAddresses[i] != o.ListenAddresses[i] {
			return false
		}
	}
	return true
}

// serverConfig is what ServerOptions set.
type serverConfig struct {
	log          *slog.Logger
	connectRetry time.Duration
	eventBuffer  int
	passwords    map[string]string // peer ID → MD5 password; never logged
	restartTime  uint16            // graceful restart (RFC 4724), seconds; 0: off
}

// ServerOption configures NewServer. A bad value makes NewServer fail.
// (The Realizer's options are Option: a server option handed to
// NewRealizer does not compile, rather than being ignored.)
type ServerOption func(*serverConfig) error

// WithServerLogger sets the server's logger; gobgp's own records go to it,
// with component=gobgp. Default: discard. (A Realizer's is WithLogger, as
// for every realizer; it defaults to the server's.)
func WithServerLogger(l *slog.Logger) ServerOption {
	return func(c *serverConfig) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithConnectRetry sets how long to wait between connection attempts to a
// peer (default 5 s; gobgp's own default is 120 s). The speaker does not
// listen by default, so its retries are the only way a session comes back
// after the peer restarts. (After a session fails gobgp first stays idle
// for 5 s, a constant of its FSM.)
func WithConnectRetry(d time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if d < time.Second {
			return errdefs.Invalid("connect_retry", "%v: the connect retry must be at least 1s (gobgp counts seconds)", d)
		}
		c.connectRetry = d
		return nil
	}
}

// WithPeerPasswords gives NewServer the MD5 passwords of BGP peers with
// auth_type md5, by peer ID. Neutron's API never shows a peer's password,
// so a document built from it has none: the password comes from the
// node's configuration instead (see ReadPeerPasswords). A password in the
// document, when there is one, is used before this one. Passwords are
// never logged, reported or put in errors. The map is copied.
func WithPeerPasswords(byPeerID map[string]string) ServerOption {
	return func(c *serverConfig) error {
		c.passwords = maps.Clone(byPeerID)
		return nil
	}
}

// MaxRestartTime is the longest graceful-restart time BGP can carry (12 bits
// of seconds, RFC 4724).
const MaxRestartTime = 4095 * time.Second

// WithGracefulRestart turns graceful restart (RFC 4724) on for every
// session: a peer that supports it (gobgpd, FRR, most routers) keeps this
// speaker's routes for restartTime (1s-4095s, whole seconds) after the
// session drops without a NOTIFICATION, as when the process is killed or
// exits on SIGTERM, and forwards on them meanwhile. When the process comes
// back, the peers configured by its first SetPeers are told it restarted
// with its forwarding state kept (the R and F bits: the kernel's dataplane
// outlives the agent), it announces its routes, then End-of-RIB, and the
// peer drops the stale routes that were not announced again. Stop, or a
// speaker removed from the document, still withdraws everything: gobgp
// closes those sessions with a NOTIFICATION. With graceful restart a
// Realizer's sessions carry only its speaker's IP version (see
// sessionFamilies); a Server driven directly keeps both. Default: off, as
// Neutron's os-ken driver.
func WithGracefulRestart(restartTime time.Duration) ServerOption {
	return func(c *serverConfig) error {
		if restartTime < time.Second || restartTime > MaxRestartTime || restartTime%time.Second != 0 {
			return errdefs.Invalid("graceful_restart_time", "%v: the restart time is whole seconds from 1s to %v (RFC 4724)", restartTime, MaxRestartTime)
		}
		c.restartTime = uint16(restartTime / time.Second)
		return nil
	}
}

// WithEventBuffer sets the capacity of the Events channel (default 256).
func WithEventBuffer(n int) ServerOption {
	return func(c *serverConfig) error {
		if n < 1 {
			return errdefs.Invalid("event_buffer", "%d: the Events channel needs room for at least one event", n)
		}
		c.eventBuffer = n
		return nil
	}
}

// CheckServerOptions reports the first bad option, as NewServer would,
// without creating a server: a program that creates its server on first
// need can refuse a bad flag at startup.
func CheckServerOptions(opts ...ServerOption) error {
	var cfg serverConfig
	if err := option.Apply(&cfg, opts); err != nil {
		return fmt.Errorf("bgp: %w", err)
	}
	return nil
}

// NewServer creates the process's BGP server and starts its event loop. It
// does not speak BGP until Start. Create one per process: the gobgp
// goroutines it starts run until the process exits.
func NewServer(opts ...ServerOption) (*Server, error) {
	cfg := serverConfig{
		log:          option.Discard(),
		connectRetry: 5 * time.Second,
		eventBuffer:  256,
	}
	if err := option.Apply(&cfg, opts); err != nil {
		return nil, fmt.Errorf("bgp: %w", err)
	}
	book := newPeerBook()
	origin, err := anypb.New(&api.OriginAttribute{Origin: 0})
	if err != nil {
		return nil, fmt.Errorf("bgp: %w", err)
	}
	s := &Server{
		origin:     origin,
		restarting: cfg.restartTime > 0,
		log:        cfg.log,
		peers:      book,
		cfg:        cfg,
		events:     make(chan PeerEvent, cfg.eventBuffer),
		advertised: map[netip.Prefix]netip.Addr{},
	}
	s.bgp = server.NewBgpServer(server.LoggerOption(&slogAdapter{log: cfg.log, peers: book}))
	// Serve must run before any other call, or that call blocks forever.
	go s.bgp.Serve()
	err = s.bgp.WatchEvent(context.Background(), &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, s.onEvent)
	if err != nil {
		return nil, fmt.Errorf("bgp: watch peer events: %w", err)
	}
	return s, nil
}

// Start starts BGP with g. Starting again with the same configuration does
// nothing; with another one it is an error wrapping ErrConflict (Stop first).
func (s *Server) Start(ctx context.Context, g Global) error {
	if err := g.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		if s.global.equal(g) {
			return nil
		}
		return errdefs.Conflict("", "bgp: already running as AS %d router-id %s; Stop before starting as AS %d router-id %s",
			s.global.AS, s.global.RouterID, g.AS, g.RouterID)
	}
	port := int32(-1) // gobgp: negative = no listener
	if g.ListenPort > 0 {
		port = int32(g.ListenPort)
	}
	var listen []string
	for _, a := range g.ListenAddresses {
		listen = append(listen, a.String())
	}
	err := s.bgp.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:             g.AS,
		RouterId:        g.RouterID.String(),
		ListenPort:      port,
		ListenAddresses: listen,
		Families: []uint32{
			uint32(oc.AfiSafiTypeToIntMap[oc.AFI_SAFI_TYPE_IPV4_UNICAST]),
			uint32(oc.AfiSafiTypeToIntMap[oc.AFI_SAFI_TYPE_IPV6_UNICAST]),
		},
	}})
	if err != nil {
		return fmt.Errorf("bgp: start AS %d router-id %s: %w", g.AS, g.RouterID, err)
	}
	s.running, s.global = true, g
	s.log.Info("bgp started", "as", g.AS, "router_id", g.RouterID, "listen_port", g.ListenPort)
	return nil
}

// Stop stops BGP: every session is closed and every advertised route
// forgotten. The gobgp event loop keeps running (it cannot be stopped), so
// Start may be called again. Stopping a stopped server does nothing.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return nil
	}
	if err := s.bgp.StopBgp(ctx, &api.StopBgpRequest{}); err != nil {
		return fmt.Errorf("bgp: stop: %w", err)
	}
	s.running = false
	s.advertised = map[netip.Prefix]netip.Addr{}
	s.peers.forgetAll()
	s.log.Info("bgp stopped")
	return nil
}

// Running reports whether BGP is started, and with which configuration.
func (s *Server) Running() (Global, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.global, s.running
}

func (s *Server) requireRunning() error {
	if !s.running {
		return fmt.Errorf("bgp: not started: %w", errdefs.ErrInvalid)
	}
	return nil
}
