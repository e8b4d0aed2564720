package bgp

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

const frrBgpd = "/usr/lib/frr/bgpd"

// frr is FRR's bgpd (Debian's), run without zebra in a lab namespace as a
// passive peer with FRR's default graceful-restart helper mode, inspected
// with vtysh over its vty socket (a path socket crosses namespaces).
type frr struct {
	t   *testing.T
	dir string
	out *lab.SafeBuffer
}

func startFRR(t *testing.T, l *lab.Lab, h *namespace.Handle, as uint32, routerID netip.Addr, neighbor netip.Addr, neighborAS uint32) *frr {
	t.Helper()
	lab.RequireCmd(t, frrBgpd)
	lab.RequireCmd(t, "vtysh")
	dir := t.TempDir()
	conf := fmt.Sprintf(`frr defaults traditional
hostname peer
!
router bgp %d
 bgp router-id %s
 no bgp ebgp-requires-policy
 neighbor %s remote-as %d
 neighbor %s passive
 address-family ipv4 unicast
  neighbor %s activate
 exit-address-family
!
`, as, routerID, neighbor, neighborAS, neighbor, neighbor)
	if err := os.WriteFile(filepath.Join(dir, "bgpd.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &frr{t: t, dir: dir}
	// -Z: no zebra; -n: nothing into the kernel; -S: run as root; -P 0: no
	// TCP vty.
	_, f.out = l.Start(h, frrBgpd, "-Z", "-S", "-n", "-f", filepath.Join(dir, "bgpd.conf"), "-i", filepath.Join(dir, "bgpd.pid"),
		"--vty_socket", dir, "-z", filepath.Join(dir, "zserv.api"), "-P", "0", "--log", "stdout")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bgpd log:\n%s", f.out.String())
		}
	})
	if !waitFor(20*time.Second, func() bool { _, err := f.vtysh("show bgp summary json"); return err == nil }) {
		t.Fatalf("FRR bgpd did not come up:\n%s", f.out.String())
	}
	return f
}

func (f *frr) vtysh(cmd string) ([]byte, error) {
	return exec.Command("vtysh", "--vty_socket", f.dir, "-d", "bgpd", "-c", cmd).Output()
}

// table returns FRR's IPv4 unicast routes (any path), sorted, and how many
// of them are stale (kept by graceful restart, not yet refreshed).
func (f *frr) table() ([]Route, int) {
	f.t.Helper()
	b, err := f.vtysh("show bgp ipv4 unicast json")
	if err != nil {
		f.t.Fatalf("vtysh: %v", err)
	}
	var out struct {
		Routes map[string][]struct {
			Stale    bool `json:"stale"`
			Nexthops []struct {
				IP string `json:"ip"`
			} `json:"nexthops"`
		} `json:"routes"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		f.t.Fatalf("vtysh json: %v\n%s", err, b)
	}
	var routes []Route
	stale := 0
	for p, paths := range out.Routes {
		for _, path := range paths {
			r := Route{Prefix: netip.MustParsePrefix(p)}
			if len(path.Nexthops) > 0 {
				r.NextHop, _ = netip.ParseAddr(path.Nexthops[0].IP)
			}
			routes = append(routes, r)
			if path.Stale {
				stale++
			}
		}
	}
	SortRoutes(routes)
	return routes, stale
}

// established reports whether FRR's session with the neighbor is up.
func (f *frr) established(neighbor netip.Addr) bool {
	up, _ := f.session(neighbor)
	return up
}

// session reports whether FRR's session with the neighbor is up and how
// often it went down.
func (f *frr) session(neighbor netip.Addr) (bool, int) {
	b, err := f.vtysh("show bgp summary json")
	if err != nil {
		return false, 0
	}
	var out struct {
		IPv4 struct {
			Peers map[string]struct {
				State   string `json:"state"`
				Dropped int    `json:"connectionsDropped"`
			} `json:"peers"`
		} `json:"ipv4Unicast"`
	}
	if json.Unmarshal(b, &out) != nil {
		return false, 0
	}
	p := out.IPv4.Peers[neighbor.String()]
	return p.State == "Established", p.Dropped
}

// TestInteropGracefulRestartFRR is TestInteropGracefulRestart with FRR's
// bgpd as the peer, in its default graceful-restart helper mode: SIGKILL
// and SIGTERM keep every route (stale) until the speaker is back, which
// refreshes them and has the removed one withdrawn; without graceful
// restart, the control, the kill withdraws everything.
func TestInteropGracefulRestartFRR(t *testing.T) {
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
			l := lab.New(t)
			lab.RequireCmd(t, frrBgpd)
			spk, peer := l.Namespace("spk"), l.Namespace("peer")
			l.Link(spk, "eth0", []string{speakerIP.String() + "/24"}, peer, "eth0", []string{daemonIP.String() + "/24"})
			f := startFRR(t, l, peer, daemonAS, daemonIP, speakerIP, ourAS)

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
			waitFRR(t, f, before, 0)

			t.Logf("signal %d (%v) to the speaker", tc.sig, tc.sig)
			sp.signal(tc.sig)
			if !waitFor(30*time.Second, func() bool { return !f.established(speakerIP) }) {
				t.Fatal("FRR's session stayed up with the speaker gone")
			}
			if !tc.gr {
				waitFRR(t, f, nil, 0)
				return
			}
			for range 10 {
				if got, stale := f.table(); !slices.Equal(got, before) || stale != len(before) {
					t.Fatalf("with the speaker down FRR has %v (%d stale), want all of %v stale", got, stale, before)
				}
				time.Sleep(200 * time.Millisecond)
			}

			in.FloatingIPs[1].PortID = ""
			after := Compute(speaker, in)
			sp = startSpeaker(t, l, spk, env...)
			sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
			waitFRR(t, f, after, 0)
			// The refreshed session stays up: the kill is its only drop.
			time.Sleep(time.Second)
			if up, dropped := f.session(speakerIP); !up || dropped != 1 {
				t.Errorf("after the restart FRR's session: up %v, dropped %d times, want up, dropped once", up, dropped)
			}
		})
	}
}

// waitFRR waits until FRR's table is want with stale routes among them.
func waitFRR(t *testing.T, f *frr, want []Route, stale int) {
	t.Helper()
	var got []Route
	var n int
	if !waitFor(60*time.Second, func() bool { got, n = f.table(); return slices.Equal(got, want) && n == stale }) {
		t.Fatalf("FRR has %v (%d stale), want %v (%d stale)", got, n, want, stale)
	}
}
