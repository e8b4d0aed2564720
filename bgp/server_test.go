package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// newTestServer returns a started server whose peers are passive and which
// does not listen: sessions never come up and nothing is sent anywhere, so
// it runs unprivileged in the test's own namespace.
func newTestServer(t *testing.T) *Server {
	t.Helper()
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	g := Global{AS: 64512, RouterID: netip.MustParseAddr("198.18.0.1"), Passive: true}
	if err := s.Start(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

// rib reads the routes in gobgp's global RIB: the truth, not our map.
func rib(t *testing.T, s *Server) []Route {
	t.Helper()
	var out []Route
	for _, f := range families {
		err := s.bgp.ListPath(context.Background(), &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: f},
			func(d *api.Destination) {
				for _, p := range d.Paths {
					out = append(out, pathRoute(t, p))
				}
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	SortRoutes(out)
	return out
}

// counts renders a report's counts as "kind:+created~updated-deleted".
func counts(r *Report) string {
	var parts []string
	for _, kind := range []string{"speaker", "peer", "route"} {
		if r.Created[kind]+r.Updated[kind]+r.Deleted[kind] > 0 {
			parts = append(parts, fmt.Sprintf("%s:+%d~%d-%d", kind, r.Created[kind], r.Updated[kind], r.Deleted[kind]))
		}
	}
	return strings.Join(parts, " ")
}

func TestServerNotStarted(t *testing.T) {
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Apply(ctx, routes("192.0.2.0/24 via 198.18.0.2")); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("Apply before Start: %v, want ErrInvalid", err)
	}
	if st, err := s.Status(ctx); err != nil || st.Running {
		t.Errorf("Status before Start: %+v %v", st, err)
	}
	if err := s.Start(ctx, Global{AS: 64512}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("Start without router ID: %v, want ErrInvalid", err)
	}
}

func TestServerStartStop(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	g, _ := s.Running()
	if err := s.Start(ctx, g); err != nil {
		t.Errorf("Start again with the same global: %v", err)
	}
	g2 := g
	g2.AS++
	if err := s.Start(ctx, g2); !errors.Is(err, errdefs.ErrConflict) {
		t.Errorf("Start with another AS while running: %v, want ErrConflict", err)
	}
	if _, err := s.Apply(ctx, routes("192.0.2.0/24 via 198.18.0.2")); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx, g2); err != nil {
		t.Fatalf("Start after Stop: %v", err)
	}
	if got := rib(t, s); len(got) != 0 || len(s.Advertised()) != 0 {
		t.Errorf("after Stop and Start the RIB has %v, advertised %v", got, s.Advertised())
	}
}

func TestServerPeers(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	p1 := Peer{ID: "p1", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 64513}
	p2 := Peer{ID: "p2", PeerIP: netip.MustParseAddr("2001:db8::2"), RemoteAS: 64514, AuthType: AuthMD5, Password: "s3cret", HoldTime: 9, KeepaliveInterval: 3}
	steps := []struct {
		name  string
		peers []Peer
		want  string
	}{
		{"add two", []Peer{p1, p2}, "peer:+2~0-0"},
		{"same again", []Peer{p2, p1}, ""},
		{"change the password", []Peer{p1, func() Peer { p := p2; p.Password = "other"; return p }()}, "peer:+0~1-0"},
		{"change the remote AS", []Peer{func() Peer { p := p1; p.RemoteAS = 65000; return p }()}, "peer:+0~1-1"},
		{"remove all", nil, "peer:+0~0-1"},
	}
	for _, st := range steps {
		plan, err := s.PlanPeers(ctx, st.peers)
		if err != nil {
			t.Fatalf("%s: plan: %v", st.name, err)
		}
		rep, err := s.SetPeers(ctx, st.peers)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if counts(rep) != st.want || counts(plan) != st.want {
			t.Errorf("%s: report %q plan %q, want %q\n%s", st.name, counts(rep), counts(plan), st.want, strings.Join(rep.Changes, "\n"))
		}
		status, err := s.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(status.Peers) != len(st.peers) {
			t.Fatalf("%s: status lists %d peers, want %d", st.name, len(status.Peers), len(st.peers))
		}
		for _, ps := range status.Peers {
			i := slices.IndexFunc(st.peers, func(p Peer) bool { return p.PeerIP == ps.Address })
			if i < 0 || ps.ID != st.peers[i].ID || ps.RemoteAS != uint32(st.peers[i].RemoteAS) || ps.State == StateEstablished {
				t.Errorf("%s: unexpected peer status %+v", st.name, ps)
			}
		}
	}
}

func TestServerPeersInvalid(t *testing.T) {
	s := newTestServer(t)
	bad := []Peer{
		{ID: "a", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 1, AuthType: AuthMD5},
		{ID: "b", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 1},
		{ID: "c", RemoteAS: 1},
		{ID: "d", PeerIP: netip.MustParseAddr("198.18.0.4")},
	}
	_, err := s.SetPeers(context.Background(), bad)
	if !errors.Is(err, errdefs.ErrInvalid) || !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("SetPeers: %v, want ErrInvalid and ErrConflict", err)
	}
	for _, want := range []string{"bgp_peers[0].password", "bgp_peers[1].peer_ip", "bgp_peers[2].peer_ip", "bgp_peers[3].remote_as"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if st, _ := s.Status(context.Background()); len(st.Peers) != 0 {
		t.Errorf("invalid peers changed the server: %+v", st.Peers)
	}
}

func TestServerApply(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	steps := []struct {
		name   string
		routes []Route
		want   string
	}{
		{"announce IPv4 and IPv6", routes("192.0.2.0/26 via 203.0.113.10", "203.0.113.50/32 via 203.0.113.10", "2001:db8:1::/64 via 2001:db8:ffff::10"), "route:+3~0-0"},
		{"same again sends nothing", routes("2001:db8:1::/64 via 2001:db8:ffff::10", "203.0.113.50/32 via 203.0.113.10", "192.0.2.0/26 via 203.0.113.10"), ""},
		{"next hop change and a withdrawal", routes("192.0.2.0/26 via 203.0.113.20", "2001:db8:1::/64 via 2001:db8:ffff::10"), "route:+0~1-1"},
		{"withdraw everything", nil, "route:+0~0-2"},
	}
	for _, st := range steps {
		plan, err := s.Plan(ctx, st.routes)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := s.Apply(ctx, st.routes)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if counts(rep) != st.want || counts(plan) != st.want {
			t.Errorf("%s: report %q plan %q, want %q", st.name, counts(rep), counts(plan), st.want)
		}
		want := slices.Clone(st.routes)
		SortRoutes(want)
		if got := rib(t, s); !slices.Equal(got, want) {
			t.Errorf("%s: gobgp RIB\n got %v\nwant %v", st.name, got, want)
		}
		if got := s.Advertised(); !slices.Equal(got, want) {
			t.Errorf("%s: Advertised\n got %v\nwant %v", st.name, got, want)
		}
		if status, _ := s.Status(ctx); status.Advertised != len(want) {
			t.Errorf("%s: Status.Advertised %d, want %d", st.name, status.Advertised, len(want))
		}
	}
}

func TestServerApplyInvalidChangesNothing(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	good := routes("192.0.2.0/24 via 198.18.0.2")
	if _, err := s.Apply(ctx, good); err != nil {
		t.Fatal(err)
	}
	bad := append(routes("198.51.100.0/24 via 198.18.0.2", "203.0.113.0/24 via 2001:db8::1", "203.0.113.7/24 via 198.18.0.2",
		"198.51.100.0/24 via 198.18.0.3"), Route{Prefix: netip.MustParsePrefix("2001:db8::/64")})
	_, err := s.Apply(ctx, bad)
	if !errors.Is(err, errdefs.ErrInvalid) || !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("Apply: %v, want ErrInvalid and ErrConflict", err)
	}
	for _, want := range []string{"routes[1].next_hop", "routes[2].destination", "routes[3]:", "routes[4].next_hop"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
	if got := rib(t, s); !slices.Equal(got, good) {
		t.Errorf("invalid Apply changed the RIB: %v", got)
	}
}

func TestPeerErrorsFromGobgpRecords(t *testing.T) {
	b := newPeerBook()
	a := netip.MustParseAddr("198.18.0.2")
	fields := func(kv ...any) map[string]any {
		m := map[string]any{"Topic": "Peer", "Key": a.String()}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	badAS := gobgp.NewMessageError(gobgp.BGP_ERROR_OPEN_MESSAGE_ERROR, gobgp.BGP_ERROR_SUB_BAD_PEER_AS, nil, "as number mismatch expected 65001, received 65002")
	cases := []struct {
		msg    string
		fields map[string]any
		want   string
	}{
		{"sent notification", fields("Data", badAS), "sent NOTIFICATION: code 2(open) subcode 2(bad peer as) (as number mismatch expected 65001, received 65002)"},
		{"received notification", fields("Code", uint8(gobgp.BGP_ERROR_CEASE), "Subcode", uint8(gobgp.BGP_ERROR_SUB_PEER_DECONFIGURED)), "received NOTIFICATION: code 6(cease) subcode 3(peer deconfigured)"},
		{"failed to connect", fields("Error", errors.New("connection refused")), "connect: connection refused"},
		{"Peer Down", fields("Reason", "hold-timer-expired"), "session down: hold-timer-expired"},
	}
	for _, c := range cases {
		b.observe(0, c.msg, c.fields)
		if got := b.get(a).Msg; got != c.want {
			t.Errorf("%s: last error %q, want %q", c.msg, got, c.want)
		}
	}
	b.observe(0, "Add a peer configuration", fields())
	if got := b.get(a).Msg; got != cases[len(cases)-1].want {
		t.Errorf("an info record replaced the last error: %q", got)
	}
	if b.get(a).Time.After(time.Now()) || b.get(a).Time.IsZero() {
		t.Errorf("bad error time %v", b.get(a).Time)
	}
}

// pathRoute converts a gobgp API path to a Route.
func pathRoute(t *testing.T, p *api.Path) Route {
	t.Helper()
	nlri, err := apiutil.GetNativeNlri(p)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := apiutil.GetNativePathAttributes(p)
	if err != nil {
		t.Fatal(err)
	}
	var nh netip.Addr
	for _, a := range attrs {
		switch a := a.(type) {
		case *gobgp.PathAttributeNextHop:
			nh, _ = netip.AddrFromSlice(a.Value)
		case *gobgp.PathAttributeMpReachNLRI:
			nh, _ = netip.AddrFromSlice(a.Nexthop)
		}
	}
	return Route{Prefix: netip.MustParsePrefix(nlri.String()), NextHop: nh.Unmap()}
}
