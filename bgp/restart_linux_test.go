package bgp

import (
	"context"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// TestInteropGracefulRestart kills the speaker process (SIGKILL, and
// SIGTERM as the node agent gets it) while a real gobgpd, a graceful-restart
// helper, holds its routes; checks that the daemon keeps every route while
// the speaker is gone; restarts the speaker with one floating IP removed
// meanwhile, and checks that the daemon ends with exactly the new routes,
// refreshed (none stale), having withdrawn only the removed one. Without
// graceful restart, the same kill withdraws everything: the control.
func TestInteropGracefulRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		gr   bool
	}{
		{"SIGKILL", syscall.SIGKILL, true},
		{"SIGTERM", syscall.SIGTERM, true},
		{"SIGKILL without graceful restart", syscall.SIGKILL, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, spk, peer := peering(t)
			// IPv4 alone, as many routers: a restarted gobgp once sent it an
			// End-of-RIB for IPv6 too, and gobgpd reset the session over it.
			d := startDaemon(t, l, peer, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS, GracefulRestart: true, IPv4Only: true})
			seen := d.watch()
			var env []string
			if tc.gr {
				env = append(env, helperEnv+"_GR=120s")
			}
			speaker := Speaker{ID: "s4", LocalAS: ourAS, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"}}
			peers := []Peer{{ID: "p1", PeerIP: daemonIP, RemoteAS: daemonAS}}
			in := tenantWorld()
			before := Compute(speaker, in)

			sp := startSpeaker(t, l, spk, env...)
			sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
			waitRIB(t, d, before)

			t.Logf("signal %d (%v) to the speaker", tc.sig, tc.sig)
			sp.signal(tc.sig)
			if !waitFor(30*time.Second, func() bool {
				return d.neighbor(speakerIP).GetState().GetSessionState() != api.PeerState_ESTABLISHED
			}) {
				t.Fatal("the daemon's session stayed up with the speaker gone")
			}
			if !tc.gr {
				waitRIB(t, d, nil)
				return
			}
			// The session is down: every route stays, marked stale, for
			// as long as the speaker takes to come back.
			for range 10 {
				if got, stale := d.ribStale(); !slices.Equal(got, before) || stale != len(before) {
					t.Fatalf("with the speaker down the daemon has %v (%d stale), want all of %v", got, stale, before)
				}
				time.Sleep(200 * time.Millisecond)
			}

			// Meanwhile one floating IP went away.
			in.FloatingIPs[1].PortID = ""
			after := Compute(speaker, in)
			gone := netip.MustParsePrefix("203.0.113.51/32")
			if len(after) != len(before)-1 || slices.ContainsFunc(after, func(r Route) bool { return r.Prefix == gone }) {
				t.Fatalf("the changed document computes %v", after)
			}
			sp = startSpeaker(t, l, spk, env...)
			sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
			if !waitFor(60*time.Second, func() bool {
				got, stale := d.ribStale()
				return slices.Equal(got, after) && stale == 0
			}) {
				got, stale := d.ribStale()
				t.Fatalf("after the restart the daemon has %v (%d stale), want %v refreshed", got, stale, after)
			}
			seen.mu.Lock()
			defer seen.mu.Unlock()
			for p, n := range seen.withdrawals {
				if p != gone || n != 1 {
					t.Errorf("the daemon withdrew %s %d times across the restart", p, n)
				}
			}
			if seen.withdrawals[gone] != 1 {
				t.Errorf("the daemon withdrew the stale %s %d times, want once", gone, seen.withdrawals[gone])
			}
		})
	}
}

// ribStale is rib with the number of its best paths marked stale (kept by
// graceful restart, not yet refreshed).
func (d *daemon) ribStale() ([]Route, int) {
	d.t.Helper()
	var out []Route
	stale := 0
	for _, f := range families {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		stream, err := d.api.ListPath(ctx, &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: f})
		if err != nil {
			cancel()
			d.t.Fatalf("gobgpd ListPath: %v", err)
		}
		for {
			r, err := stream.Recv()
			if err != nil {
				break
			}
			for _, p := range r.Destination.Paths {
				if p.Best {
					out = append(out, pathRoute(d.t, p))
					if p.Stale {
						stale++
					}
				}
			}
		}
		cancel()
	}
	SortRoutes(out)
	return out, stale
}

// TestInteropGracefulRestartPeerWithout: a restarted speaker with graceful
// restart on (it tells its peers it restarted) announces at once to a peer
// without graceful restart, which sends no End-of-RIB to wait for; PITFALLS
// warns of stalls there.
func TestInteropGracefulRestartPeerWithout(t *testing.T) {
	l, spk, peer := peering(t)
	d := startDaemon(t, l, peer, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS})
	sp := startSpeaker(t, l, spk, helperEnv+"_GR=120s")
	speaker := Speaker{ID: "s4", LocalAS: ourAS, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"}}
	in := tenantWorld()
	// Within waitRIB's minute: a stall would last gobgp's deferral time, 360 s.
	sp.apply(Desired{Speaker: speaker, Peers: []Peer{{ID: "p1", PeerIP: daemonIP, RemoteAS: daemonAS}}, Inputs: in})
	waitRIB(t, d, Compute(speaker, in))
}
