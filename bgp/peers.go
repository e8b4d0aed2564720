package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	api "github.com/osrg/gobgp/v3/api"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/report"
)

// Default BGP timers (RFC 4271), used when a Peer leaves them at 0.
const (
	DefaultHoldTime          = 90
	DefaultKeepaliveInterval = 30
)

// families are the AFI/SAFIs enabled on every session, as Neutron's os-ken
// driver does (enable_ipv4 and enable_ipv6): IPv6 prefixes can ride an IPv4
// session and the other way round (MP-BGP).
var families = []*api.Family{
	{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST},
	{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST},
}

// peerConfig is the part of a gobgp peer this package sets; comparing it is
// how SetPeers decides that a peer changed.
type peerConfig struct {
	AS        uint32
	Password  string
	Hold      uint64
	Keepalive uint64
	Retry     uint64
	Passive   bool
	Restart   uint32 // graceful-restart time, seconds; 0: off
	Families  uint8  // bit 0: IPv4 unicast, bit 1: IPv6 unicast
}

const bothFamilies = 0b11

// sessionFamilies are the families of the sessions of a speaker of IP
// version ipVersion (0: any). Without graceful restart every session
// carries both, as Neutron's os-ken driver does. With it, only the
// speaker's: a restarted gobgp that finds no End-of-RIB to wait for sends
// End-of-RIB for every configured family, negotiated or not, and a gobgpd
// that did not negotiate one resets the session over it (a NOTIFICATION,
// not graceful: it drops every route). A speaker's routes are all of its
// version, so nothing it advertises is lost.
func sessionFamilies(restart uint32, ipVersion int) uint8 {
	switch {
	case restart == 0:
		return bothFamilies
	case ipVersion == 4:
		return 0b01
	case ipVersion == 6:
		return 0b10
	}
	return bothFamilies
}

func (s *Server) desiredPeerConfig(p Peer, ipVersion int) peerConfig {
	c := peerConfig{
		AS:        uint32(p.RemoteAS),
		Hold:      uint64(p.HoldTime),
		Keepalive: uint64(p.KeepaliveInterval),
		Retry:     uint64(s.cfg.connectRetry.Seconds()),
		Passive:   s.global.Passive,
		Restart:   uint32(s.cfg.restartTime),
	}
	c.Families = sessionFamilies(c.Restart, ipVersion)
	if p.AuthType == AuthMD5 {
		c.Password = s.password(p)
	}
	if c.Hold == 0 {
		c.Hold = DefaultHoldTime
	}
	if c.Keepalive == 0 {
		c.Keepalive = c.Hold / 3
	}
	return c
}

func listedPeerConfig(p *api.Peer) peerConfig {
	c := peerConfig{AS: p.GetConf().GetPeerAsn(), Password: p.GetConf().GetAuthPassword()}
	if t := p.GetTimers().GetConfig(); t != nil {
		c.Hold, c.Keepalive, c.Retry = t.HoldTime, t.KeepaliveInterval, t.ConnectRetry
	}
	c.Passive = p.GetTransport().GetPassiveMode()
	if gr := p.GetGracefulRestart(); gr.GetEnabled() {
		c.Restart = gr.GetRestartTime()
	}
	for _, af := range p.GetAfiSafis() {
		if !af.GetConfig().GetEnabled() {
			continue
		}
		for i, f := range families {
			if af.GetConfig().GetFamily().GetAfi() == f.Afi && af.GetConfig().GetFamily().GetSafi() == f.Safi {
				c.Families |= 1 << i
			}
		}
	}
	return c
}

// apiPeer is the gobgp peer of c. restarting sets the graceful restart's
// R and F bits: this process restarted and the dataplane kept forwarding.
func apiPeer(addr netip.Addr, c peerConfig, restarting bool) *api.Peer {
	afs := make([]*api.AfiSafi, 0, len(families))
	for i, f := range families {
		if c.Families&(1<<i) == 0 {
			continue
		}
		af := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: f, Enabled: true}}
		if c.Restart > 0 {
			af.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		afs = append(afs, af)
	}
	var gr *api.GracefulRestart
	if c.Restart > 0 {
		// gobgp sets the F bit only with LocalRestarting; with it, it waits
		// for the peer's End-of-RIB (or the deferral time) before sending.
		gr = &api.GracefulRestart{Enabled: true, RestartTime: c.Restart, LocalRestarting: restarting}
	}
	return &api.Peer{
		GracefulRestart: gr,
		Conf:            &api.PeerConf{NeighborAddress: addr.String(), PeerAsn: c.AS, AuthPassword: c.Password},
		Timers: &api.Timers{Config: &api.TimersConfig{
			HoldTime: c.Hold, KeepaliveInterval: c.Keepalive, ConnectRetry: c.Retry,
		}},
		Transport: &api.Transport{PassiveMode: c.Passive},
		AfiSafis:  afs,
	}
}

// password is an md5 peer's password: the document's, else the one
// configured for the peer's ID (WithPeerPasswords), else "".
func (s *Server) password(p Peer) string {
	if p.Password != "" {
		return p.Password
	}
	return s.cfg.passwords[p.ID]
}

// validatePeers checks each peer (Peer.Validate), that an md5 peer has a
// password (in the document or configured), and that no two share an
// address: a session is keyed by the peer's address.
func (s *Server) validatePeers(peers []Peer) error {
	var errs []error
	seen := map[netip.Addr]string{}
	for i, p := range peers {
		path := errdefs.Index("bgp_peers", i)
		if err := p.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
		}
		if p.AuthType == AuthMD5 && s.password(p) == "" {
			errs = append(errs, errdefs.Invalid(path+".password", "peer %s has auth_type md5, but no password: Neutron's API never shows it, so configure it by peer ID (bgp.WithPeerPasswords, node-agent --bgp-peer-passwords)", p.ID))
		}
		if !p.PeerIP.IsValid() {
			continue
		}
		if other, dup := seen[p.PeerIP]; dup {
			errs = append(errs, errdefs.Conflict(path+".peer_ip", "peer %s: %s is also peer %s", p.ID, p.PeerIP, other))
		}
		seen[p.PeerIP] = p.ID
	}
	if len(errs) > 0 {
		return fmt.Errorf("bgp peers: %w", joinErrs(errs))
	}
	return nil
}

// SetPeers makes the server's peers exactly peers: adds the missing ones,
// re-creates the changed ones (a new AS, password or timers needs a new
// session anyway) and removes the others. It diffs against gobgp's own peer
// list, so it converges whatever was configured before.
func (s *Server) SetPeers(ctx context.Context, peers []Peer) (*Report, error) {
	return s.syncPeers(ctx, peers, 0, false)
}

// PlanPeers reports what SetPeers would change, changing nothing.
func (s *Server) PlanPeers(ctx context.Context, peers []Peer) (*Report, error) {
	return s.syncPeers(ctx, peers, 0, true)
}

// syncPeers is SetPeers (or PlanPeers when dry) for a speaker of IP
// version ipVersion (0: any; see sessionFamilies).
func (s *Server) syncPeers(ctx context.Context, peers []Peer, ipVersion int, dry bool) (*Report, error) {
	rep := &Report{}
	if err := s.validatePeers(peers); err != nil {
		return rep, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.requireRunning(); err != nil {
		return rep, err
	}
	current, err := s.listPeerConfigs(ctx)
	if err != nil {
		return rep, err
	}
	var errs []error
	desired := map[netip.Addr]bool{}
	for _, p := range peers {
		addr := p.PeerIP
		desired[addr] = true
		want := s.desiredPeerConfig(p, ipVersion)
		have, exists := current[addr]
		switch {
		case !exists:
			report.Recordf(rep, report.Create, "peer", "add peer %s %s AS %d", p.ID, addr, p.RemoteAS)
			if !dry {
				errs = appendErr(errs, s.addPeer(ctx, p, want))
			}
		case have != want:
			report.Recordf(rep, report.Update, "peer", "update peer %s %s AS %d", p.ID, addr, p.RemoteAS)
			if !dry {
				err := s.deletePeer(ctx, addr)
				if err == nil {
					err = s.addPeer(ctx, p, want)
				}
				errs = appendErr(errs, err)
			}
		default:
			if !dry {
				s.peers.setID(addr, p.ID)
			}
		}
	}
	stale := make([]netip.Addr, 0)
	for addr := range current {
		if !desired[addr] {
			stale = append(stale, addr)
		}
	}
	slices.SortFunc(stale, netip.Addr.Compare)
	for _, addr := range stale {
		report.Recordf(rep, report.Delete, "peer", "remove peer %s %s", s.peers.id(addr), addr)
		if !dry {
			errs = appendErr(errs, s.deletePeer(ctx, addr))
		}
	}
	if !dry {
		s.restarting = false
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("bgp peers: %w", joinErrs(errs))
	}
	return rep, nil
}

func (s *Server) listPeerConfigs(ctx context.Context) (map[netip.Addr]peerConfig, error) {
	out := map[netip.Addr]peerConfig{}
	var bad []string
	err := s.bgp.ListPeer(ctx, &api.ListPeerRequest{}, func(p *api.Peer) {
		a, err := netip.ParseAddr(p.GetConf().GetNeighborAddress())
		if err != nil {
			bad = append(bad, p.GetConf().GetNeighborAddress())
			return
		}
		out[a.Unmap()] = listedPeerConfig(p)
	})
	if err != nil {
		return nil, fmt.Errorf("bgp: list peers: %w", err)
	}
	if len(bad) > 0 {
		// Only this package configures the server, and always by address.
		return nil, fmt.Errorf("bgp: peers configured by interface name: %v", bad)
	}
	return out, nil
}

func (s *Server) addPeer(ctx context.Context, p Peer, c peerConfig) error {
	s.peers.forget(p.PeerIP)
	if err := s.bgp.AddPeer(ctx, &api.AddPeerRequest{Peer: apiPeer(p.PeerIP, c, s.restarting)}); err != nil {
		return fmt.Errorf("add peer %s %s: %w", p.ID, p.PeerIP, err)
	}
	s.peers.setID(p.PeerIP, p.ID)
	s.log.Info("bgp peer added", "peer", p.ID, "address", p.PeerIP, "remote_as", p.RemoteAS)
	return nil
}

func (s *Server) deletePeer(ctx context.Context, addr netip.Addr) error {
	id := s.peers.id(addr)
	if err := s.bgp.DeletePeer(ctx, &api.DeletePeerRequest{Address: addr.String()}); err != nil {
		return fmt.Errorf("remove peer %s %s: %w", id, addr, err)
	}
	s.log.Info("bgp peer removed", "peer", id, "address", addr)
	s.peers.forget(addr)
	return nil
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}
