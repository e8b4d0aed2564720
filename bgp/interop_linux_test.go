package bgp

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

// The peering link: our speaker in "spk", gobgpd in "peer".
var (
	speakerIP  = netip.MustParseAddr("198.18.0.1")
	daemonIP   = netip.MustParseAddr("198.18.0.2")
	speakerIP6 = netip.MustParseAddr("2001:db8:ff::1")
	daemonIP6  = netip.MustParseAddr("2001:db8:ff::2")
)

const (
	ourAS    = 64512
	daemonAS = 64513
)

// peering makes the two namespaces and the link between them.
func peering(t *testing.T) (*lab.Lab, *namespace.Handle, *namespace.Handle) {
	l := lab.New(t)
	lab.RequireCmd(t, "gobgpd")
	spk, peer := l.Namespace("spk"), l.Namespace("peer")
	l.Link(spk, "eth0", []string{speakerIP.String() + "/24", speakerIP6.String() + "/64"},
		peer, "eth0", []string{daemonIP.String() + "/24", daemonIP6.String() + "/64"})
	return l, spk, peer
}

func TestInteropIPv4(t *testing.T) {
	l, spk, peer := peering(t)
	d := startDaemon(t, l, peer, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS})
	sp := startSpeaker(t, l, spk)

	in := tenantWorld()
	speaker := Speaker{ID: "s4", LocalAS: ourAS, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"}}
	good := Peer{ID: "p1", PeerIP: daemonIP, RemoteAS: daemonAS, HoldTime: 9, KeepaliveInterval: 3}
	want := routes("192.0.2.0/26 via 203.0.113.10", "192.0.2.64/26 via 203.0.113.20",
		"203.0.113.50/32 via 203.0.113.10", "203.0.113.51/32 via 203.0.113.10", "203.0.113.60/32 via 203.0.113.20")
	if got := Compute(speaker, in); !slices.Equal(got, want) {
		t.Fatalf("Compute:\n got %v\nwant %v", got, want)
	}

	t.Log("a wrong peer AS is reported in Status and crashes nothing")
	wrong := good
	wrong.RemoteAS = 65999
	sp.apply(Desired{Speaker: speaker, Peers: []Peer{wrong}, Inputs: in})
	var st Status
	if !waitFor(30*time.Second, func() bool {
		st = sp.status()
		return len(st.Peers) == 1 && strings.Contains(st.Peers[0].LastError, "bad peer as")
	}) {
		t.Fatalf("no 'bad peer as' in Status: %+v", st)
	}
	t.Logf("status with a wrong AS: %+v", st.Peers[0])
	if st.Peers[0].State == StateEstablished || st.Peers[0].ID != "p1" {
		t.Errorf("peer with a wrong AS: %+v", st.Peers[0])
	}

	t.Log("the right AS: the daemon learns exactly the computed routes with their next hops")
	rep := sp.apply(Desired{Speaker: speaker, Peers: []Peer{good}, Inputs: in})
	if rep.Report.Updated["peer"] != 1 || rep.Report.Mutations() != 1 {
		t.Errorf("fixing the AS: %v", rep.Report.Changes)
	}
	waitRIB(t, d, want)
	if evs := sp.events(); !slices.ContainsFunc(evs, func(e PeerEvent) bool {
		return e.ID == "p1" && e.Address == daemonIP && e.State == StateEstablished
	}) {
		t.Errorf("no established event for p1 in %+v", evs)
	}
	if hold := d.neighbor(speakerIP).GetTimers().GetState().GetNegotiatedHoldTime(); hold != 9 {
		t.Errorf("negotiated hold time %d, want the peer's 9 s", hold)
	}
	st = sp.status()
	if p := st.Peers[0]; p.State != StateEstablished || p.Advertised != len(want) || st.Advertised != len(want) {
		t.Errorf("status: %+v", st)
	}

	t.Log("a second Apply of the same state changes and sends nothing; Plan agrees")
	before := d.neighbor(speakerIP).State.Messages.Received.Update
	if plan := sp.call(helperRequest{Op: "plan", Desired: &Desired{Speaker: speaker, Peers: []Peer{good}, Inputs: in}}); plan.Error != "" || plan.Report.Mutations() != 0 {
		t.Errorf("Plan of the applied state: %v %v", plan.Error, plan.Report.Changes)
	}
	rep = sp.apply(Desired{Speaker: speaker, Peers: []Peer{good}, Inputs: in})
	if n := rep.Report.Mutations(); n != 0 {
		t.Errorf("second Apply: %d mutations: %v", n, rep.Report.Changes)
	}
	time.Sleep(500 * time.Millisecond) // let anything that was sent arrive
	if after := d.neighbor(speakerIP).State.Messages.Received.Update; after != before {
		t.Errorf("second Apply sent %d UPDATEs", after-before)
	}

	t.Log("removing a FIP withdraws its /32 at the daemon")
	in.FloatingIPs[1].PortID = ""
	rep = sp.apply(Desired{Speaker: speaker, Peers: []Peer{good}, Inputs: in})
	if rep.Report.Deleted["route"] != 1 || rep.Report.Mutations() != 1 {
		t.Errorf("FIP removal: %v", rep.Report.Changes)
	}
	want = slices.DeleteFunc(want, func(r Route) bool { return r.Prefix == netip.MustParsePrefix("203.0.113.51/32") })
	waitRIB(t, d, want)

	t.Log("a restarted daemon re-learns everything")
	d.stop()
	if !waitFor(30*time.Second, func() bool { return sp.status().Peers[0].State != StateEstablished }) {
		t.Fatal("the session stayed up with the daemon stopped")
	}
	var down []PeerEvent
	waitFor(10*time.Second, func() bool {
		down = append(down, sp.events()...)
		return slices.ContainsFunc(down, func(e PeerEvent) bool { return e.State != StateEstablished && e.LastError != "" })
	})
	if !slices.ContainsFunc(down, func(e PeerEvent) bool { return e.State != StateEstablished && e.LastError != "" }) {
		t.Errorf("no session-down event with its reason: %+v", down)
	}
	d.start()
	waitRIB(t, d, want)
	st = sp.status()
	if st.Peers[0].State != StateEstablished || st.Peers[0].Flaps == 0 {
		t.Errorf("after the daemon restart: %+v", st.Peers[0])
	}

	t.Log("an empty Desired stops the speaker; the daemon loses the routes")
	rep = sp.apply(Desired{})
	if rep.Report.Deleted["speaker"] != 1 {
		t.Errorf("stop: %v", rep.Report.Changes)
	}
	waitRIB(t, d, nil)
}

func TestInteropIPv6MD5(t *testing.T) {
	l, spk, peer := peering(t)
	d := startDaemon(t, l, peer, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP6, AS: ourAS, Password: "s3cret"})
	sp := startSpeaker(t, l, spk)

	in := tenantWorld()
	speaker := Speaker{ID: "s6", LocalAS: ourAS, IPVersion: 6, Networks: []string{"ext"}, Peers: []string{"p6"}}
	p6 := Peer{ID: "p6", PeerIP: daemonIP6, RemoteAS: daemonAS, AuthType: AuthMD5, Password: "wrong"}
	desired := Desired{Speaker: speaker, Peers: []Peer{p6}, Inputs: in, RouterID: speakerIP}
	want := routes("2001:db8:1::/64 via 2001:db8:ffff::10")

	t.Log("a wrong MD5 password keeps the session down")
	sp.apply(desired)
	var st Status
	// The kernel drops segments with a bad signature: connections time out.
	if !waitFor(30*time.Second, func() bool { st = sp.status(); return strings.Contains(st.Peers[0].LastError, "connect") }) {
		t.Fatalf("no connection failure reported: %+v", st)
	}
	if st.Peers[0].State == StateEstablished {
		t.Fatalf("session established with a wrong MD5 password: %+v", st.Peers[0])
	}
	t.Logf("wrong password: %s", st.Peers[0].LastError)

	t.Log("the right password: IPv6 routes over an IPv6 session (MP-BGP)")
	desired.Peers[0].Password = "s3cret"
	sp.apply(desired)
	waitRIB(t, d, want)
}

// TestInteropMD5PasswordFromConfiguration: Neutron's API never shows an
// md5 peer's password, so the document has none; the speaker process takes
// it from a password file (as node-agent --bgp-peer-passwords does), the
// session with a real daemon comes up, and the password is nowhere in the
// speaker's debug log.
func TestInteropMD5PasswordFromConfiguration(t *testing.T) {
	l, spk, peer := peering(t)
	const password = "c0nf1gured-Only"
	d := startDaemon(t, l, peer, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS, Password: password})
	file := filepath.Join(t.TempDir(), "bgp-passwords.json")
	if err := os.WriteFile(file, []byte(`{"p1": "`+password+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	sp := startSpeaker(t, l, spk, helperEnv+"_PASSWORDS="+file, helperEnv+"_LOG=debug")

	speaker := Speaker{ID: "s4", LocalAS: ourAS, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"}}
	p1 := Peer{ID: "p1", PeerIP: daemonIP, RemoteAS: daemonAS, AuthType: AuthMD5} // no password: as the API shows it
	sp.apply(Desired{Speaker: speaker, Peers: []Peer{p1}, Inputs: tenantWorld(), RouterID: speakerIP})
	waitRIB(t, d, Compute(speaker, tenantWorld()))
	if log := sp.stderr.String(); strings.Contains(log, password) {
		t.Errorf("the MD5 password is in the speaker's log")
	} else if !strings.Contains(log, "bgp peer added") {
		t.Errorf("the speaker's debug log has no peer records; the check above saw nothing: %s", log)
	}
}

// TestInteropMPBGP sends IPv6 routes over an IPv4 session, as Neutron's
// os-ken driver allows.
func TestInteropMPBGP(t *testing.T) {
	l, spk, peer := peering(t)
	d := startDaemon(t, l, peer, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS})
	sp := startSpeaker(t, l, spk)
	speaker := Speaker{ID: "s6", LocalAS: ourAS, IPVersion: 6, Networks: []string{"ext"}, Peers: []string{"p1"}}
	sp.apply(Desired{Speaker: speaker, Peers: []Peer{{ID: "p1", PeerIP: daemonIP, RemoteAS: daemonAS}}, Inputs: tenantWorld()})
	waitRIB(t, d, routes("2001:db8:1::/64 via 2001:db8:ffff::10"))
}

// waitRIB waits until the daemon's RIB is exactly want.
func waitRIB(t *testing.T, d *daemon, want []Route) {
	t.Helper()
	var got []Route
	if !waitFor(60*time.Second, func() bool { got = d.rib(); return slices.Equal(got, want) }) {
		t.Fatalf("daemon RIB:\n got %v\nwant %v", got, want)
	}
}
