package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

// daemon is a real gobgpd (Debian's) in a lab namespace, the peer our
// speaker must convince. The test talks to its gRPC API over a unix socket:
// a path socket is reachable from any network namespace.
type daemon struct {
	t    *testing.T
	l    *lab.Lab
	h    *namespace.Handle
	conf string
	sock string
	cmd  *exec.Cmd
	out  *lab.SafeBuffer
	conn *grpc.ClientConn
	api  api.GobgpApiClient
}

type daemonNeighbor struct {
	Address  netip.Addr
	AS       uint32
	Password string
	// Active makes the daemon connect; by default it waits (Neutron's
	// speakers connect and their peers are passive).
	Active bool
	// GracefulRestart makes the daemon a graceful-restart helper (RFC
	// 4724) for this neighbor, as an upstream router would be.
	GracefulRestart bool
	// IPv4Only enables IPv4 unicast alone, as many upstream routers do;
	// by default the neighbor has both families.
	IPv4Only bool
}

// startDaemon writes a gobgpd configuration (neighbors with IPv4 and IPv6
// unicast) and starts it in h.
func startDaemon(t *testing.T, l *lab.Lab, h *namespace.Handle, as uint32, routerID netip.Addr, neighbors ...daemonNeighbor) *daemon {
	t.Helper()
	lab.RequireCmd(t, "gobgpd")
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "[global.config]\n  as = %d\n  router-id = %q\n  port = 179\n", as, routerID)
	for _, n := range neighbors {
		fmt.Fprintf(&b, "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = %q\n    peer-as = %d\n", n.Address, n.AS)
		if n.Password != "" {
			fmt.Fprintf(&b, "    auth-password = %q\n", n.Password)
		}
		fmt.Fprintf(&b, "  [neighbors.transport.config]\n    passive-mode = %v\n", !n.Active)
		if n.GracefulRestart {
			fmt.Fprintf(&b, "  [neighbors.graceful-restart.config]\n    enabled = true\n    helper-only = true\n")
		}
		fams := []string{"ipv4-unicast", "ipv6-unicast"}
		if n.IPv4Only {
			fams = fams[:1]
		}
		for _, f := range fams {
			fmt.Fprintf(&b, "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = %q\n", f)
			if n.GracefulRestart {
				fmt.Fprintf(&b, "    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n")
			}
		}
	}
	d := &daemon{t: t, l: l, h: h, conf: filepath.Join(dir, "gobgpd.toml"), sock: filepath.Join(dir, "api.sock")}
	if err := os.WriteFile(d.conf, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("unix://"+d.sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		if t.Failed() && d.out != nil {
			t.Logf("gobgpd log:\n%s", d.out.String())
		}
	})
	d.conn, d.api = conn, api.NewGobgpApiClient(conn)
	d.start()
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	_ = os.Remove(d.sock)
	d.cmd, d.out = d.l.Start(d.h, "gobgpd", "-f", d.conf, "--api-hosts", "unix://"+d.sock, "--pprof-disable", "-p", "-l", "info")
	ok := waitFor(20*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := d.api.GetBgp(ctx, &api.GetBgpRequest{})
		return err == nil
	})
	if !ok {
		d.t.Fatalf("gobgpd did not come up:\n%s", d.out.String())
	}
}

// stop stops gobgpd (SIGTERM, by PID).
func (d *daemon) stop() { lab.Stop(d.cmd) }

// rib returns the daemon's global RIB (best paths, both families), sorted.
func (d *daemon) rib() []Route {
	d.t.Helper()
	var out []Route
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
				}
			}
		}
		cancel()
	}
	SortRoutes(out)
	return out
}

// count is the number of destinations in the daemon's table of one family:
// cheap enough to poll while 10,000 routes arrive.
func (d *daemon) count(f *api.Family) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := d.api.GetTable(ctx, &api.GetTableRequest{TableType: api.TableType_GLOBAL, Family: f})
	if err != nil {
		return 0
	}
	return r.NumDestination
}

// neighbor returns the daemon's view of one neighbor.
func (d *daemon) neighbor(addr netip.Addr) *api.Peer {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := d.api.ListPeer(ctx, &api.ListPeerRequest{Address: addr.String()})
	if err != nil {
		d.t.Fatalf("gobgpd ListPeer: %v", err)
	}
	r, err := stream.Recv()
	if err != nil {
		d.t.Fatalf("gobgpd ListPeer %s: %v", addr, err)
	}
	return r.Peer
}

// arrivals records when best paths appear at and leave the daemon, from its
// WatchEvent stream.
type arrivals struct {
	mu      sync.Mutex
	present map[netip.Prefix]time.Time
	gone    map[netip.Prefix]time.Time
	nth     []time.Time // arrival time of the n-th distinct prefix
	// withdrawals counts every withdrawal of a prefix, even of one that
	// came back since.
	withdrawals map[netip.Prefix]int
}

// watch starts recording the daemon's best-path changes.
func (d *daemon) watch() *arrivals {
	d.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d.t.Cleanup(cancel)
	stream, err := d.api.WatchEvent(ctx, &api.WatchEventRequest{Table: &api.WatchEventRequest_Table{
		Filters: []*api.WatchEventRequest_Table_Filter{{Type: api.WatchEventRequest_Table_Filter_BEST}}}})
	if err != nil {
		d.t.Fatalf("gobgpd WatchEvent: %v", err)
	}
	a := &arrivals{present: map[netip.Prefix]time.Time{}, gone: map[netip.Prefix]time.Time{}, withdrawals: map[netip.Prefix]int{}}
	go func() {
		for {
			r, err := stream.Recv()
			if err != nil {
				return
			}
			now := time.Now()
			a.mu.Lock()
			for _, p := range r.GetTable().GetPaths() {
				nlri, err := apiutil.GetNativeNlri(p)
				if err != nil {
					continue
				}
				pfx, err := netip.ParsePrefix(nlri.String())
				if err != nil {
					continue
				}
				if p.IsWithdraw {
					a.withdrawals[pfx]++
					delete(a.present, pfx)
					a.gone[pfx] = now
				} else {
					if _, ok := a.present[pfx]; !ok {
						a.nth = append(a.nth, now)
					}
					a.present[pfx] = now
					delete(a.gone, pfx)
				}
			}
			a.mu.Unlock()
		}
	}()
	return a
}

// reset forgets the arrivals so far: waitCount counts from here.
func (a *arrivals) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.nth = nil
	clear(a.present)
}

// waitCount returns when the daemon had seen n distinct prefixes.
func (a *arrivals) waitCount(n int, timeout time.Duration) (time.Time, bool) {
	return a.wait(timeout, func() time.Time {
		if len(a.nth) >= n {
			return a.nth[n-1]
		}
		return time.Time{}
	})
}

// waitPresent returns when p arrived (or was last replaced).
func (a *arrivals) waitPresent(p netip.Prefix, timeout time.Duration) (time.Time, bool) {
	return a.wait(timeout, func() time.Time { return a.present[p] })
}

// waitGone returns when p was withdrawn.
func (a *arrivals) waitGone(p netip.Prefix, timeout time.Duration) (time.Time, bool) {
	return a.wait(timeout, func() time.Time { return a.gone[p] })
}

// wait polls at, under the lock, until it returns a time.
func (a *arrivals) wait(timeout time.Duration, at func() time.Time) (time.Time, bool) {
	var t time.Time
	ok := waitFor(timeout, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		t = at()
		return !t.IsZero()
	})
	return t, ok
}
