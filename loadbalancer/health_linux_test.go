package loadbalancer

import (
	"context"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/stretchr/testify/require"
)

// status reads the load balancer's statuses through a Plan.
func (w *world) status() Status {
	w.t.Helper()
	rep, err := w.r.Plan(context.Background(), w.d)
	require.NoError(w.t, err)
	return rep.LoadBalancers["lb1"]
}

// waitFor polls cond until it holds or a minute passes; the time taken is
// returned for the log, never asserted.
func (w *world) waitFor(what string, cond func() bool) time.Duration {
	w.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > time.Minute {
			w.t.Fatalf("%s: still not true after a minute", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// slots counts the elements of a listener's slot map in the kernel.
func (w *world) slots(listener string) int {
	w.t.Helper()
	c, err := w.lbNS().NFT()
	require.NoError(w.t, err)
	els, err := c.GetSetElements(&nftables.Set{Table: table, Name: mapPrefix + listener, KeyType: nftables.TypeInteger})
	require.NoError(w.t, err)
	return len(els)
}

// TestStoppedMemberLeavesRotationAndReturns: a member whose server stops
// fails max_retries_down TCP checks and leaves the kernel's map in one
// transaction; no client connection reaches it afterwards; when its server
// is back it returns after max_retries successes.
func TestStoppedMemberLeavesRotationAndReturns(t *testing.T) {
	w := newWorld(t)
	m1 := w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.member("m3", "100.64.1.23")
	w.tcpPool(RoundRobin, 1, 1, 1)
	w.d.HealthMonitors = []HealthMonitor{{ID: "hm1", PoolID: "web", Type: MonitorTCP, Delay: 1, Timeout: 1, MaxRetries: 2, MaxRetriesDown: 2}}
	rep := w.apply()
	// Before their first check members are OFFLINE, then ONLINE.
	for _, id := range []string{"m1", "m2", "m3"} {
		require.Contains(t, []string{Offline, Online}, rep.LoadBalancers["lb1"].Members[id])
	}
	w.waitFor("members online", func() bool {
		st := w.status()
		return st.Members["m1"] == Online && st.Members["m2"] == Online && st.Members["m3"] == Online
	})
	require.Equal(t, Online, w.status().OperatingStatus)

	m1.stopTCP()
	took := w.waitFor("m1 out of the kernel map", func() bool { return w.slots("tcp80") == 2 })
	t.Logf("m1 left rotation %v after its server stopped (delay × max_retries_down = 2s)", took.Round(10*time.Millisecond))
	st := w.status()
	require.Equal(t, StatusErr, st.Members["m1"])
	require.Equal(t, st, w.r.Status()["lb1"], "the live status and a Plan's agree")
	require.Equal(t, Degraded, st.OperatingStatus)
	require.Equal(t, Active, st.ProvisioningStatus)
	counts := w.count(300, 80)
	require.Equal(t, map[string]int{"m2": 150, "m3": 150}, counts, "a connection went to the stopped member")
	// Health changes are not drift: Apply keeps the member out.
	w.requireIdle()

	m1.startTCP()
	took = w.waitFor("m1 back in the kernel map", func() bool { return w.slots("tcp80") == 3 })
	t.Logf("m1 returned %v after its server restarted (delay × max_retries = 2s)", took.Round(10*time.Millisecond))
	require.Equal(t, Online, w.status().Members["m1"])
	require.Equal(t, map[string]int{"m1": 100, "m2": 100, "m3": 100}, w.count(300, 80))
}

// TestHTTPMonitorAndBackup: HTTP checks with expected_codes decide the
// rotation, and a backup member serves only when no primary is healthy.
func TestHTTPMonitorAndBackup(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.tcpPool(RoundRobin, 1, 1)
	w.d.Members[1].Backup = true
	w.d.HealthMonitors = []HealthMonitor{{ID: "hm1", PoolID: "web", Type: MonitorHTTP, Delay: 1, Timeout: 1, MaxRetries: 1, MaxRetriesDown: 1,
		URLPath: "/health", ExpectedCodes: "201"}}
	// The members' HTTP servers run on 8080 and answer 200: with 201
	// expected, every check fails.
	for i := range w.d.Members {
		w.d.Members[i].MonitorPort = 8080
	}
	w.apply()
	w.waitFor("both members in ERROR", func() bool {
		st := w.status()
		return st.Members["m1"] == StatusErr && st.Members["m2"] == StatusErr
	})
	// The status flips with the probe; the map follows on the refresher.
	w.waitFor("the kernel map empty", func() bool { return w.slots("tcp80") == 0 })
	// Expecting 200 instead: both healthy, the primary serves alone.
	w.d.HealthMonitors[0].ExpectedCodes = "200"
	w.apply()
	w.waitFor("both back", func() bool {
		st := w.status()
		return st.Members["m1"] == Online && st.Members["m2"] == Online
	})
	w.waitFor("m1 in the kernel map", func() bool { return w.slots("tcp80") == 1 })
	require.Equal(t, map[string]int{"m1": 4}, w.count(4, 80), "the backup served while the primary is healthy")
	// The primary fails: the backup takes over.
	w.d.Members[0].MonitorPort = 8000 // a TCP greeter: no HTTP answer
	w.apply()
	w.waitFor("m1 in ERROR", func() bool { return w.status().Members["m1"] == StatusErr })
	w.waitFor("m2 in the kernel map", func() bool { return w.slots("tcp80") == 1 && w.count(1, 80)["m2"] == 1 })
	require.Equal(t, map[string]int{"m2": 4}, w.count(4, 80))
}
