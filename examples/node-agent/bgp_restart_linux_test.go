package main

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestRunBGPGracefulRestart runs the agent with --bgp-graceful-restart
// against a real gobgpd that is a graceful-restart helper, and stops it
// twice: SIGTERM, then SIGKILL with a floating IP removed from the
// topology while it is down. Each time the daemon keeps every route (stale)
// while the agent is gone; the restarted agent refreshes them, and the
// removed floating IP's /32 is the one route ever withdrawn.
func TestRunBGPGracefulRestart(t *testing.T) {
	w := newWorld(t)
	withSpeaker(w.b)
	w.b.fip(2, extNet, 101, routerIdx, vm2Port)
	w.b.write(t, w.file)
	g := startGobgpdGR(t, w)
	kept, removed := netip.MustParsePrefix("203.0.113.100/32"), netip.MustParsePrefix("203.0.113.101/32")
	flags := append(worldFlags, "--resync-interval", "1s", "--bgp-graceful-restart", "60s")

	p := w.n.start(t, "run", w.file, flags...)
	g.waitRIB(t, []netip.Prefix{kept, removed}, 0, p)

	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Logf("signal %d (%v) to the agent", sig, sig)
		_ = p.stop(sig)
		if _, ok := eventually(30*time.Second, func() bool { return !g.established() }); !ok {
			t.Fatal("the daemon's session stayed up with the agent gone")
		}
		for range 5 {
			if got, stale := g.rib(t); !slices.Equal(got, []netip.Prefix{kept, removed}) || stale != 2 {
				t.Fatalf("with the agent down the daemon has %v (%d stale), want both routes, stale", got, stale)
			}
			time.Sleep(200 * time.Millisecond)
		}
		want := []netip.Prefix{kept, removed}
		if sig == syscall.SIGKILL {
			w.b.FloatingIPs = w.b.FloatingIPs[:1]
			w.b.write(t, w.file)
			want = want[:1]
		}
		p = w.n.start(t, "run", w.file, flags...)
		g.waitRIB(t, want, 0, p)
	}
	if gone := g.withdrawn(); !slices.Equal(gone, []netip.Prefix{removed}) {
		t.Errorf("the daemon withdrew %v across the restarts, want only %v\nlast agent log:\n%s", gone, removed, p.log.String())
	}
}

// gobgpdGR is gobgpd in the upstream namespace, a graceful-restart helper
// for node1, inspected through its API on a unix socket.
type gobgpdGR struct {
	api api.GobgpApiClient
	mu  sync.Mutex
	out map[netip.Prefix]bool // withdrawn, from its best-path events
}

func startGobgpdGR(t *testing.T, w *world) *gobgpdGR {
	t.Helper()
	if _, err := os.Stat("/usr/bin/gobgpd"); err != nil {
		t.Skipf("interop test: no gobgpd: %v", err)
	}
	dir := t.TempDir()
	conf, sock := filepath.Join(dir, "gobgpd.toml"), filepath.Join(dir, "api.sock")
	cfg := `[global.config]
  as = 64513
  router-id = "198.18.0.2"
  port = 179

[[neighbors]]
  [neighbors.config]
    neighbor-address = "198.18.0.1"
    peer-as = 64512
  [neighbors.transport.config]
    passive-mode = true
  [neighbors.graceful-restart.config]
    enabled = true
    helper-only = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
`
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out := w.l.Start(w.up, "gobgpd", "-f", conf, "--api-hosts", "unix://"+sock, "--pprof-disable", "-p", "-l", "info")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gobgpd log:\n%s", out.String())
		}
	})
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	g := &gobgpdGR{api: api.NewGobgpApiClient(conn), out: map[netip.Prefix]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var stream api.GobgpApi_WatchEventClient
	if _, ok := eventually(20*time.Second, func() bool {
		stream, err = g.api.WatchEvent(ctx, &api.WatchEventRequest{Table: &api.WatchEventRequest_Table{
			Filters: []*api.WatchEventRequest_Table_Filter{{Type: api.WatchEventRequest_Table_Filter_BEST}}}})
		if err == nil {
			_, err = g.api.GetBgp(ctx, &api.GetBgpRequest{})
		}
		return err == nil
	}); !ok {
		t.Fatalf("gobgpd did not come up: %v", err)
	}
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				return
			}
			for _, p := range r.GetTable().GetPaths() {
				if nlri, err := apiutil.GetNativeNlri(p); err == nil && p.IsWithdraw {
					if pfx, err := netip.ParsePrefix(nlri.String()); err == nil {
						g.mu.Lock()
						g.out[pfx] = true
						g.mu.Unlock()
					}
				}
			}
		}
	}()
	return g
}

func (g *gobgpdGR) withdrawn() []netip.Prefix {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []netip.Prefix
	for p := range g.out {
		out = append(out, p)
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return out
}

func (g *gobgpdGR) established() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := g.api.ListPeer(ctx, &api.ListPeerRequest{Address: "198.18.0.1"})
	if err != nil {
		return false
	}
	r, err := stream.Recv()
	return err == nil && r.Peer.GetState().GetSessionState() == api.PeerState_ESTABLISHED
}

// rib returns the daemon's IPv4 prefixes, sorted, and how many are stale.
func (g *gobgpdGR) rib(t *testing.T) ([]netip.Prefix, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := g.api.ListPath(ctx, &api.ListPathRequest{TableType: api.TableType_GLOBAL,
		Family: &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}})
	if err != nil {
		t.Fatalf("gobgpd ListPath: %v", err)
	}
	var out []netip.Prefix
	stale := 0
	for {
		r, err := stream.Recv()
		if err != nil {
			break
		}
		for _, p := range r.Destination.Paths {
			if !p.Best {
				continue
			}
			out = append(out, netip.MustParsePrefix(r.Destination.Prefix))
			if p.Stale {
				stale++
			}
		}
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return out, stale
}

func (g *gobgpdGR) waitRIB(t *testing.T, want []netip.Prefix, stale int, p *agentProc) {
	t.Helper()
	var got []netip.Prefix
	var n int
	if _, ok := eventually(60*time.Second, func() bool {
		got, n = g.rib(t)
		return slices.Equal(got, want) && n == stale
	}); !ok {
		t.Fatalf("the daemon has %v (%d stale), want %v (%d stale)\nagent log:\n%s", got, n, want, stale, p.log.String())
	}
}
