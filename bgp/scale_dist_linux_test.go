package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
)

// stockIP is the address of the stock gobgpd speaker of the baseline, on a
// second link to the same receiving daemon.
var stockIP = netip.MustParseAddr("198.18.1.1")

// TestScale10kDistribution measures, in one run and alternating so that
// both see the same machine load, how long 10,000 prefixes take to reach a
// real gobgpd from our speaker (one Apply) and from a stock gobgpd fed
// through its gRPC API the fastest way it offers (AddPathStream, 1000 paths
// per message): ten rounds each, from the start of the call to the arrival
// of the last prefix at the receiver. It reports the distributions and
// their ratio; it asserts correctness only. Run with NEUTRINO_BGP_SCALE=1
// (and NEUTRINO_BGP_SCALE_ROUNDS=n for another number of rounds).
func TestScale10kDistribution(t *testing.T) {
	if os.Getenv(scaleEnv) == "" {
		t.Skipf("scale measurement: set %s=1", scaleEnv)
	}
	const n = 10000
	rounds := 10
	if v := os.Getenv(scaleEnv + "_ROUNDS"); v != "" {
		fmt.Sscan(v, &rounds)
	}
	l, spk, peer := peering(t)
	stockNS := l.Namespace("stock")
	l.Link(stockNS, "eth0", []string{stockIP.String() + "/24"}, peer, "eth1", []string{"198.18.1.2/24"})
	d := startDaemon(t, l, peer, daemonAS, daemonIP,
		daemonNeighbor{Address: speakerIP, AS: ourAS}, daemonNeighbor{Address: stockIP, AS: ourAS})
	stock := startDaemon(t, l, stockNS, ourAS, stockIP, daemonNeighbor{Address: netip.MustParseAddr("198.18.1.2"), AS: daemonAS, Active: true})
	sp := startSpeaker(t, l, spk)
	// How arrival at the receiver is observed: "watch" (default) timestamps
	// gobgpd's best-path events, which costs the receiver a conversion and
	// a gRPC message per path; "rib" polls its table's size every 2 ms,
	// which costs it a table walk per poll instead.
	byRIB := os.Getenv(scaleEnv+"_ARRIVAL") == "rib"
	var seen *arrivals
	if !byRIB {
		seen = d.watch()
	}
	reset := func() {
		if seen != nil {
			seen.reset()
		}
	}
	arrived := func() (time.Time, bool) {
		if seen != nil {
			return seen.waitCount(n, 2*time.Minute)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if d.count(families[0]) >= n {
				return time.Now(), true
			}
			time.Sleep(2 * time.Millisecond)
		}
		return time.Time{}, false
	}

	speaker := Speaker{ID: "s4", LocalAS: ourAS, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"}}
	peers := []Peer{{ID: "p1", PeerIP: daemonIP, RemoteAS: daemonAS}}
	empty := Desired{Speaker: speaker, Peers: peers, Inputs: fipWorld(0)}
	full := Desired{Speaker: speaker, Peers: peers, Inputs: fipWorld(n)}
	sp.apply(empty)
	if !waitFor(30*time.Second, func() bool {
		return sp.status().Peers[0].State == StateEstablished &&
			stock.neighbor(netip.MustParseAddr("198.18.1.2")).GetState().GetSessionState() == api.PeerState_ESTABLISHED
	}) {
		t.Fatal("sessions did not come up")
	}
	routes := Compute(speaker, full.Inputs)
	enc := pathEncoder(t)
	ctx := context.Background()
	drained := func(who string) {
		t.Helper()
		if !waitFor(2*time.Minute, func() bool { return d.count(families[0]) == 0 }) {
			t.Fatalf("%s: the daemon still has %d prefixes after the withdrawal", who, d.count(families[0]))
		}
	}

	var ours, base, oursApply, firsts []time.Duration
	for range rounds {
		reset()
		rep := sp.apply(full)
		last, ok := arrived()
		if !ok || rep.Report.Created["route"] != n {
			t.Fatalf("our speaker: the daemon did not get %d prefixes (report %v)", n, rep.Report.Created)
		}
		ours, oursApply = append(ours, last.Sub(rep.Started)), append(oursApply, rep.Took)
		if seen != nil {
			first, _ := seen.waitCount(1, time.Second)
			firsts = append(firsts, first.Sub(rep.Started))
		}
		sp.apply(empty)
		drained("our speaker")

		reset()
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
		last, ok = arrived()
		if !ok {
			t.Fatalf("stock gobgpd: the daemon did not get %d prefixes", n)
		}
		base = append(base, last.Sub(start))
		if _, err := stock.api.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Family: families[0]}); err != nil {
			t.Fatal(err) // the stock daemon's every path: it has only these
		}
		drained("stock gobgpd")
	}
	within := 0
	for _, d := range ours {
		if d <= 400*time.Millisecond {
			within++
		}
	}
	how := "its best-path events"
	if byRIB {
		how = "its table size, polled"
	}
	t.Logf("10k prefixes to a real gobgpd (arrival seen by %s), %d rounds, call start to last arrival:", how, rounds)
	t.Logf("  ours:  %s (Apply itself: median %v); %d of %d within 400ms", distribution(ours), median(oursApply), within, rounds)
	if len(firsts) > 0 {
		t.Logf("  ours, first prefix at the daemon: median %v", median(firsts))
	}
	t.Logf("  stock gobgpd, AddPathStream: %s", distribution(base))
	t.Logf("  ratio ours/stock: median %.2f, max %.2f", ratio(median(ours), median(base)), ratio(slices.Max(ours), slices.Max(base)))
}

// distribution formats min, median, 90th percentile and max.
func distribution(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	all := make([]string, len(s))
	for i, d := range s {
		all[i] = r(d).String()
	}
	return fmt.Sprintf("min %v median %v p90 %v max %v [%s]", r(s[0]), r(s[len(s)/2]), r(s[len(s)*9/10]), r(s[len(s)-1]), strings.Join(all, " "))
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
