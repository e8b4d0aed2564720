package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// SessionState is a BGP session's FSM state (RFC 4271 section 8.2.2).
type SessionState string

// The session states, as gobgp reports them.
const (
	StateUnknown     SessionState = "unknown"
	StateIdle        SessionState = "idle"
	StateConnect     SessionState = "connect"
	StateActive      SessionState = "active"
	StateOpenSent    SessionState = "opensent"
	StateOpenConfirm SessionState = "openconfirm"
	StateEstablished SessionState = "established"
)

func sessionState(s api.PeerState_SessionState) SessionState {
	switch s {
	case api.PeerState_IDLE, api.PeerState_CONNECT, api.PeerState_ACTIVE, api.PeerState_OPENSENT,
		api.PeerState_OPENCONFIRM, api.PeerState_ESTABLISHED:
		return SessionState(strings.ToLower(s.String()))
	}
	return StateUnknown
}

// Status is a snapshot of the server.
type Status struct {
	Running  bool
	AS       uint32
	RouterID netip.Addr
	// Advertised is the number of routes the server announces.
	Advertised int
	Peers      []PeerStatus
	// EventsDropped counts peer events lost because the Events channel was
	// full; Status is always current regardless.
	EventsDropped uint64
}

// PeerStatus is one peer's session.
type PeerStatus struct {
	ID       string
	Address  netip.Addr
	RemoteAS uint32
	State    SessionState
	// Since is when the session came up (zero unless established).
	Since time.Time
	// Advertised and Received count prefixes sent to and accepted from the
	// peer, over all families.
	Advertised int
	Received   int
	// Flaps counts how often the session went down.
	Flaps int
	// LastError is the last reason the session failed or could not come up
	// (a NOTIFICATION sent or received, such as "open/bad peer as", a refused
	// connection, an expired hold timer), with its time. It stays after the
	// session recovers.
	LastError     string
	LastErrorTime time.Time
}

// Status reports the server and every peer's session.
func (s *Server) Status(ctx context.Context) (Status, error) {
	s.mu.Lock()
	st := Status{
		Running:       s.running,
		AS:            s.global.AS,
		RouterID:      s.global.RouterID,
		Advertised:    len(s.advertised),
		EventsDropped: s.dropped.Load(),
	}
	s.mu.Unlock()
	if !st.Running {
		return st, nil
	}
	err := s.bgp.ListPeer(ctx, &api.ListPeerRequest{EnableAdvertised: true}, func(p *api.Peer) {
		addr, err := netip.ParseAddr(p.GetConf().GetNeighborAddress())
		if err != nil {
			return
		}
		addr = addr.Unmap()
		ps := PeerStatus{
			ID:       s.peers.id(addr),
			Address:  addr,
			RemoteAS: p.GetConf().GetPeerAsn(),
			State:    sessionState(p.GetState().GetSessionState()),
			Flaps:    int(p.GetState().GetFlops()),
		}
		if ps.State == StateEstablished {
			if up := p.GetTimers().GetState().GetUptime(); up != nil {
				ps.Since = up.AsTime()
			}
		}
		for _, af := range p.GetAfiSafis() {
			ps.Advertised += int(af.GetState().GetAdvertised())
			ps.Received += int(af.GetState().GetAccepted())
		}
		e := s.peers.get(addr)
		ps.LastError, ps.LastErrorTime = e.Msg, e.Time
		st.Peers = append(st.Peers, ps)
	})
	if err != nil {
		return st, fmt.Errorf("bgp: list peers: %w", err)
	}
	slices.SortFunc(st.Peers, func(a, b PeerStatus) int { return a.Address.Compare(b.Address) })
	return st, nil
}

// PeerEvent is a change of a peer's session state.
type PeerEvent struct {
	ID      string
	Address netip.Addr
	State   SessionState
	Time    time.Time
	// LastError is the peer's last failure known when the event was made
	// (see PeerStatus.LastError).
	LastError string
}

// Events delivers peer state changes. The channel is never closed. When the
// consumer falls behind, events are dropped (counted in
// Status.EventsDropped) rather than stalling gobgp: read Status for the
// current truth.
func (s *Server) Events() <-chan PeerEvent { return s.events }

// onEvent runs on gobgp's watcher goroutine: it must never block.
func (s *Server) onEvent(r *api.WatchEventResponse) {
	pe := r.GetPeer()
	if pe == nil || pe.GetType() != api.WatchEventResponse_PeerEvent_STATE {
		return
	}
	addr, err := netip.ParseAddr(pe.GetPeer().GetState().GetNeighborAddress())
	if err != nil {
		return
	}
	addr = addr.Unmap()
	ev := PeerEvent{Address: addr, State: sessionState(pe.GetPeer().GetState().GetSessionState()), Time: time.Now()}
	ev.ID = s.peers.id(addr)
	if ev.State != StateEstablished {
		ev.LastError = s.peers.get(addr).Msg
	}
	select {
	case s.events <- ev:
	default:
		s.dropped.Add(1)
	}
}
