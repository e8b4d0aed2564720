package bgp

import (
	"context"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/neutrino-net/neutrino/router"
)

// scaleEnv gates the scale measurements: they take a while and report
// figures rather than assert them.
const scaleEnv = "NEUTRINO_BGP_SCALE"

// TestScale10k measures, against a real gobgpd: the time until it has 10,000
// advertised prefixes, the time for one FIP change to reach it, and the
// speaker's memory. Run with NEUTRINO_BGP_SCALE=1 and -v; it asserts
// correctness only, never a duration.
func TestScale10k(t *testing.T) {
	if os.Getenv(scaleEnv) == "" {
		t.Skipf("scale measurement: set %s=1", scaleEnv)
	}
	const n = 10000
	l, spk, peer := peering(t)
	d := startDaemon(t, l, peer, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS})
	sp := startSpeaker(t, l, spk)
	seen := d.watch()

	speaker := Speaker{ID: "s4", LocalAS: ourAS, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"}}
	peers := []Peer{{ID: "p1", PeerIP: daemonIP, RemoteAS: daemonAS}}
	mem0 := sp.call(helperRequest{Op: "mem"})

	// Establish the session with no routes first: the 10k then travel as
	// incremental updates, the case of a platform adding FIPs.
	sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: fipWorld(0)})
	if !waitFor(30*time.Second, func() bool { return sp.status().Peers[0].State == StateEstablished }) {
		t.Fatal("session did not come up")
	}
	in := fipWorld(n)
	rep := sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
	last, ok := seen.waitCount(n, 2*time.Minute)
	if !ok {
		t.Fatalf("daemon did not get %d prefixes", n)
	}
	if got := d.count(families[0]); got != n || rep.Report.Created["route"] != n {
		t.Fatalf("daemon has %d prefixes, report %v", got, rep.Report.Created)
	}
	t.Logf("10k prefixes: Apply %v in the speaker; all at the daemon %v after Apply began", rep.Took.Round(time.Millisecond), last.Sub(rep.Started).Round(time.Millisecond))
	mem := sp.call(helperRequest{Op: "mem"})
	t.Logf("speaker memory: heap in use %.1f MB (%.1f MB before), RSS %.1f MB (%.1f MB before)",
		mb(mem.HeapInuse), mb(mem0.HeapInuse), mb(mem.RSS), mb(mem0.RSS))

	// One FIP change at 10k, add then remove: through the incremental
	// UpdateFloatingIPs (the goal) and through a full Apply.
	var adds, dels, took, fullAdds, fullDels []time.Duration
	for i := range 5 {
		f := router.FloatingIP{ID: "new", FloatingIPAddress: netip.AddrFrom4([4]byte{198, 19, 240, byte(i + 1)}),
			FloatingNetworkID: "ext", RouterID: "r1", PortID: "vm-new"}
		pfx := netip.PrefixFrom(f.FloatingIPAddress, 32)
		rep := sp.call(helperRequest{Op: "fips", Upsert: []router.FloatingIP{f}})
		at, ok := seen.waitPresent(pfx, 30*time.Second)
		if !ok || rep.Error != "" || rep.Report.Mutations() != 1 {
			t.Fatalf("FIP %s: arrived %v, %s, report %v", pfx, ok, rep.Error, rep.Report.Changes)
		}
		adds, took = append(adds, at.Sub(rep.Started)), append(took, rep.Took)
		rep = sp.call(helperRequest{Op: "fips", Deleted: []string{f.ID}})
		at, ok = seen.waitGone(pfx, 30*time.Second)
		if !ok || rep.Error != "" || rep.Report.Mutations() != 1 {
			t.Fatalf("FIP %s: withdrawn %v, %s, report %v", pfx, ok, rep.Error, rep.Report.Changes)
		}
		dels, took = append(dels, at.Sub(rep.Started)), append(took, rep.Took)

		in.FloatingIPs = append(in.FloatingIPs, f)
		rep = sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
		if at, ok = seen.waitPresent(pfx, 30*time.Second); !ok || rep.Report.Mutations() != 1 {
			t.Fatalf("FIP %s (full Apply): arrived %v, report %v", pfx, ok, rep.Report.Changes)
		}
		fullAdds = append(fullAdds, at.Sub(rep.Started))
		in.FloatingIPs = in.FloatingIPs[:len(in.FloatingIPs)-1]
		rep = sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
		if at, ok = seen.waitGone(pfx, 30*time.Second); !ok || rep.Report.Mutations() != 1 {
			t.Fatalf("FIP %s (full Apply): withdrawn %v, report %v", pfx, ok, rep.Report.Changes)
		}
		fullDels = append(fullDels, at.Sub(rep.Started))
	}
	if os.Getenv(helperEnv+"_LOG") != "" {
		t.Logf("speaker log:\n%s", sp.stderr.String())
	}
	t.Logf("one FIP at 10k, from the call to the daemon (median of 5): UpdateFloatingIPs add %v, remove %v (the call itself %v); full Apply add %v, remove %v",
		median(adds), median(dels), median(took), median(fullAdds), median(fullDels))

	noop := sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
	t.Logf("no-op Apply at 10k: %v, %d mutations", noop.Took.Round(time.Microsecond), noop.Report.Mutations())

	// A restarted peer gets the whole table at once when the session is up.
	d.stop()
	d.start()
	var since time.Time
	if !waitFor(time.Minute, func() bool { since = sp.status().Peers[0].Since; return !since.IsZero() }) {
		t.Fatal("session did not come back")
	}
	ok = waitFor(2*time.Minute, func() bool { return d.count(families[0]) == n })
	if !ok {
		t.Fatalf("restarted daemon did not re-learn %d prefixes", n)
	}
	t.Logf("daemon restart: 10k prefixes re-learned %v after the session came back up",
		time.Since(since).Round(time.Millisecond))
}

// TestScale10kBaseline is the same measurement with a stock gobgpd as the
// speaker, fed through its gRPC API the fastest way it offers
// (AddPathStream, 1000 paths per message): the baseline for TestScale10k.
func TestScale10kBaseline(t *testing.T) {
	if os.Getenv(scaleEnv) == "" {
		t.Skipf("scale measurement: set %s=1", scaleEnv)
	}
	const n = 10000
	l, spk, peer := peering(t)
	d := startDaemon(t, l, peer, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS})
	stock := startDaemon(t, l, spk, ourAS, speakerIP, daemonNeighbor{Address: daemonIP, AS: daemonAS, Active: true})
	seen := d.watch()
	if !waitFor(30*time.Second, func() bool {
		return stock.neighbor(daemonIP).GetState().GetSessionState() == api.PeerState_ESTABLISHED
	}) {
		t.Fatal("session did not come up")
	}
	routes := Compute(Speaker{LocalAS: ourAS, IPVersion: 4, Networks: []string{"ext"}}, fipWorld(n))
	ctx := context.Background()
	enc := pathEncoder(t)
	start := time.Now()
	stream, err := stock.api.AddPathStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for chunk := range slices.Chunk(routes, 1000) {
		req := &api.AddPathStreamRequest{TableType: api.TableType_GLOBAL}
		for _, r := range chunk {
			p, err := enc.apiPath(r, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Paths = append(req.Paths, p)
		}
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	fed := time.Since(start)
	last, ok := seen.waitCount(n, 2*time.Minute)
	if !ok {
		t.Fatalf("daemon did not get %d prefixes", n)
	}
	t.Logf("baseline, stock gobgpd fed by AddPathStream: 10k prefixes fed in %v; all at the peer %v after the first was sent",
		fed.Round(time.Millisecond), last.Sub(start).Round(time.Millisecond))

	var adds []time.Duration
	for i := range 5 {
		r := Route{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, 240, byte(i + 1)}), 32), NextHop: routes[0].NextHop}
		p, _ := enc.apiPath(r, false, nil)
		start := time.Now()
		if _, err := stock.api.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p}); err != nil {
			t.Fatal(err)
		}
		at, ok := seen.waitPresent(r.Prefix, 30*time.Second)
		if !ok {
			t.Fatalf("%s did not arrive", r.Prefix)
		}
		adds = append(adds, at.Sub(start))
	}
	t.Logf("baseline, one route added through the stock gobgpd's API at 10k (median of 5): %v", median(adds))
}

// pathEncoder encodes paths as a Server does, for feeding a stock gobgpd.
func pathEncoder(t *testing.T) *Server {
	origin, err := anypb.New(&api.OriginAttribute{Origin: 0})
	if err != nil {
		t.Fatal(err)
	}
	return &Server{origin: origin}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(10 * time.Microsecond)
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }
