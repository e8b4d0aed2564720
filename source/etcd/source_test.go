package etcd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/source"
	"github.com/neutrino-net/neutrino/source/etcd"
	"github.com/neutrino-net/neutrino/source/etcd/etcdtest"
)

const prefix = "/neutrino-test"

func twoNode(t *testing.T) *neutrino.Topology {
	t.Helper()
	topo, err := neutrino.LoadFile("../../examples/topologies/two-node-vxlan.json")
	require.NoError(t, err)
	topo.Defaults()
	return topo
}

// run starts src and returns its events; the source stops when t ends.
func run(t *testing.T, src source.Source) <-chan source.Event {
	events := make(chan source.Event, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = src.Run(ctx, func(e source.Event) { events <- e })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return events
}

// next waits for the first event that satisfies ok, failing after 30s.
func next(t *testing.T, events <-chan source.Event, what string, ok func(source.Event) bool) source.Event {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case e := <-events:
			if ok(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no event: %s", what)
		}
	}
}

func snapshotAt(rev int64) func(source.Event) bool {
	return func(e source.Event) bool { return e.Snapshot != nil && e.Snapshot.Revision >= rev }
}

func isErr(e source.Event) bool { return e.Err != nil }

func newSource(c *clientv3.Client, opts ...etcd.Option) *etcd.Source {
	return etcd.New(c, prefix, append([]etcd.Option{
		etcd.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
		etcd.WithBackoff(20*time.Millisecond, 200*time.Millisecond),
		etcd.WithProbe(100*time.Millisecond, 500*time.Millisecond),
	}, opts...)...)
}

// renamePort is a change that touches one port.
func renamePort(i int, name string) func(*neutrino.Topology) error {
	return func(t *neutrino.Topology) error {
		t.Ports[i].Name = name
		return nil
	}
}

func TestSnapshotThenWatchAppliesEveryChangeOnceInOrder(t *testing.T) {
	srv := etcdtest.Start(t)
	w := etcd.NewWriter(srv.Client(t), prefix)
	topo := twoNode(t)
	rev0, err := w.Put(context.Background(), topo)
	require.NoError(t, err)

	src := newSource(srv.Client(t))
	events := run(t, src)
	// Writes racing with the source's first Get and Watch.
	var revs []int64
	for i := range 20 {
		rev, err := w.Update(context.Background(), renamePort(i%len(topo.Ports), fmt.Sprintf("n%d", i)))
		require.NoError(t, err)
		revs = append(revs, rev)
	}
	last := revs[len(revs)-1]

	var snaps []*source.Snapshot
	for {
		e := next(t, events, "a snapshot", func(e source.Event) bool { return e.Snapshot != nil })
		snaps = append(snaps, e.Snapshot)
		if e.Snapshot.Revision == last {
			break
		}
	}
	require.GreaterOrEqual(t, snaps[0].Revision, rev0)
	require.Nil(t, snaps[0].Delta, "the first snapshot is whole")
	changes := 0
	for i := 1; i < len(snaps); i++ {
		require.Greater(t, snaps[i].Revision, snaps[i-1].Revision, "revisions only go forward")
		require.NotNil(t, snaps[i].Delta)
		changes += len(snaps[i].Delta.Changes)
	}
	// Every write after the first snapshot arrives exactly once (a watch
	// response may carry several transactions).
	after := 0
	for _, r := range revs {
		if r > snaps[0].Revision {
			after++
		}
	}
	require.Equal(t, after, changes)
	// renamePort counts ports in the stored (ID) order, as snapshots list them.
	final := snaps[len(snaps)-1].Topology()
	for i, p := range final.Ports {
		require.Equal(t, fmt.Sprintf("n%d", 20-len(topo.Ports)+i), p.Name)
	}
	st := src.Status()
	require.True(t, st.Connected)
	require.Equal(t, last, st.Revision)
}

func TestInvalidObjectIsRejectedNamingKeyAndFieldAndLastGoodStays(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	w := etcd.NewWriter(c, prefix)
	topo := twoNode(t)
	rev, err := w.Put(context.Background(), topo)
	require.NoError(t, err)
	src := newSource(srv.Client(t))
	events := run(t, src)
	next(t, events, "first snapshot", snapshotAt(rev))

	// A writer that does not validate: a malformed address.
	p := topo.Ports[2]
	key := etcd.Key(prefix, source.Ref{Collection: "ports", ID: p.ID})
	raw, err := json.Marshal(p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	m["fixed_ips"].([]any)[0].(map[string]any)["ip_address"] = "10.0.10.300"
	bad, _ := json.Marshal(m)
	_, err = c.Put(context.Background(), key, string(bad))
	require.NoError(t, err)
	e := next(t, events, "rejection", isErr)
	require.ErrorIs(t, e.Err, neutrino.ErrInvalid)
	require.ErrorContains(t, e.Err, key+": fixed_ips[0].ip_address")
	require.Equal(t, rev, src.Status().Revision, "the last good revision stays")
	require.ErrorContains(t, src.Status().Err, key)

	// Decodable but breaking the document's rules: a subnet that is not there.
	m["fixed_ips"].([]any)[0].(map[string]any)["ip_address"] = p.FixedIPs[0].IPAddress.String()
	m["fixed_ips"].([]any)[0].(map[string]any)["subnet_id"] = "no-such-subnet"
	bad, _ = json.Marshal(m)
	_, err = c.Put(context.Background(), key, string(bad))
	require.NoError(t, err)
	e = next(t, events, "rejection", isErr)
	require.ErrorIs(t, e.Err, neutrino.ErrNotFound)
	require.ErrorContains(t, e.Err, key+": fixed_ips[0].subnet_id")

	// Repaired: a snapshot again, whose delta holds both changes since the
	// last good one.
	fixed, err := c.Put(context.Background(), key, string(raw))
	require.NoError(t, err)
	e = next(t, events, "repaired snapshot", snapshotAt(fixed.Header.Revision))
	require.NotNil(t, e.Snapshot.Delta)
	require.Len(t, e.Snapshot.Delta.Changes, 3)
	require.NoError(t, src.Status().Err)
}

func TestCompactionDuringAPartitionTakesAFreshSnapshot(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	w := etcd.NewWriter(c, prefix)
	topo := twoNode(t)
	rev, err := w.Put(context.Background(), topo)
	require.NoError(t, err)

	px := etcdtest.NewProxy(t, srv.Addr())
	src := newSource(etcdtest.Client(t, px.Endpoint()))
	events := run(t, src)
	next(t, events, "first snapshot", snapshotAt(rev))

	px.Cut()
	e := next(t, events, "outage reported", isErr)
	require.ErrorContains(t, e.Err, prefix)
	require.Eventually(t, func() bool { return !src.Status().Connected }, 10*time.Second, 10*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	require.Positive(t, src.Status().Stale(time.Now()), "staleness is visible")

	// Meanwhile: changes, then a compaction of the history the watch needs.
	for i := range 5 {
		_, err = w.Update(context.Background(), renamePort(i%len(topo.Ports), fmt.Sprintf("during-%d", i)))
		require.NoError(t, err)
	}
	rev, err = w.Update(context.Background(), func(t *neutrino.Topology) error {
		t.Ports = t.Ports[:len(t.Ports)-1] // a deletion the watch would have carried
		return nil
	})
	require.NoError(t, err)
	_, err = c.Compact(context.Background(), rev)
	require.NoError(t, err)

	px.Restore()
	e = next(t, events, "fresh snapshot", snapshotAt(rev))
	require.Nil(t, e.Snapshot.Delta, "after compaction the snapshot is whole")
	require.Len(t, e.Snapshot.Topology().Ports, len(topo.Ports)-1)
	names := map[string]bool{}
	for _, p := range e.Snapshot.Topology().Ports {
		names[p.Name] = true
	}
	require.True(t, names["during-4"])
	require.Eventually(t, func() bool { return src.Status().Connected }, 10*time.Second, 10*time.Millisecond)
	require.Zero(t, src.Status().Stale(time.Now()))
}

func TestEtcdStoppedKeepsTheLastGoodStateAndRecovers(t *testing.T) {
	srv := etcdtest.Start(t)
	w := etcd.NewWriter(srv.Client(t), prefix)
	topo := twoNode(t)
	rev, err := w.Put(context.Background(), topo)
	require.NoError(t, err)
	src := newSource(srv.Client(t))
	events := run(t, src)
	first := next(t, events, "first snapshot", snapshotAt(rev))

	srv.Stop()
	e := next(t, events, "outage reported", isErr)
	require.Nil(t, e.Snapshot, "no snapshot replaces the last good one")
	st := src.Status()
	require.False(t, st.Connected)
	require.Equal(t, first.Snapshot.Revision, st.Revision)

	srv.Restart()
	rev, err = w.Update(context.Background(), renamePort(0, "after-restart"))
	require.NoError(t, err)
	e = next(t, events, "snapshot after restart", snapshotAt(rev))
	require.Equal(t, "after-restart", e.Snapshot.Topology().Ports[0].Name)
	require.Eventually(t, func() bool { return src.Status().Connected }, 10*time.Second, 10*time.Millisecond)
}

func TestConcurrentWritersLoseNoChange(t *testing.T) {
	srv := etcdtest.Start(t)
	topo := twoNode(t)
	_, err := etcd.NewWriter(srv.Client(t), prefix).Put(context.Background(), topo)
	require.NoError(t, err)

	// Each writer appends its own security-group rules; a lost update
	// would drop another writer's rule.
	const writers, each = 3, 8
	var wg sync.WaitGroup
	for wi := range writers {
		w := etcd.NewWriter(srv.Client(t), prefix, etcd.WithAttempts(100))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := w.Update(context.Background(), func(cur *neutrino.Topology) error {
					g := &cur.SecurityGroups[0]
					r := g.Rules[0]
					r.ID = fmt.Sprintf("%08d-0000-4000-8000-%012d", wi, i)
					pmin := 1000 + wi*100 + i
					r.PortRangeMin, r.PortRangeMax = &pmin, &pmin
					r.Protocol = "tcp"
					g.Rules = append(append([]secgroup.Rule(nil), g.Rules...), r)
					return nil
				})
				require.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	resp, err := srv.Client(t).Get(context.Background(),
		etcd.Key(prefix, source.Ref{Collection: "security_groups", ID: topo.SecurityGroups[0].ID}))
	require.NoError(t, err)
	var g struct {
		Rules []json.RawMessage `json:"security_group_rules"`
	}
	require.NoError(t, json.Unmarshal(resp.Kvs[0].Value, &g))
	require.Len(t, g.Rules, len(topo.SecurityGroups[0].Rules)+writers*each)
}

func TestWriterRefusesAnInvalidTopologyWritingNothing(t *testing.T) {
	srv := etcdtest.Start(t)
	c := srv.Client(t)
	topo := twoNode(t)
	topo.Ports[0].FixedIPs[0].SubnetID = "missing"
	_, err := etcd.NewWriter(c, prefix).Put(context.Background(), topo)
	require.ErrorIs(t, err, neutrino.ErrNotFound)
	resp, err := c.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	require.Zero(t, resp.Count)
}

// TestLeaderKilledDuringWritesLosesNothing: a 3-member cluster, a stream of
// writes, the leader killed in the middle of it; every acknowledged write
// is in the store and the watcher converges to the last written revision.
func TestLeaderKilledDuringWritesLosesNothing(t *testing.T) {
	members := etcdtest.StartCluster(t, 3)
	var eps []string
	for _, m := range members {
		eps = append(eps, m.Endpoint())
	}
	c := etcdtest.Client(t, eps...)
	w := etcd.NewWriter(c, prefix, etcd.WithAttempts(20))
	topo := twoNode(t)
	ctx := context.Background()
	rev, err := w.Put(ctx, topo)
	require.NoError(t, err)
	src := newSource(etcdtest.Client(t, eps...))
	events := run(t, src)
	next(t, events, "first snapshot", snapshotAt(rev))

	leader := func() *etcdtest.Server {
		for _, m := range members {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := c.Status(sctx, m.Endpoint())
			cancel()
			if err == nil && st.Leader == st.Header.MemberId {
				return m
			}
		}
		return nil
	}
	const writes = 30
	var last int64
	for i := range writes {
		if i == writes/3 {
			l := leader()
			require.NotNil(t, l, "a leader")
			l.Kill()
			t.Logf("killed the leader %s after %d writes", l.Name(), i)
		}
		// A write cut by the election is retried: renaming to the same name
		// again is a no-op if the first attempt was committed.
		var err error
		for attempt := 0; attempt < 50; attempt++ {
			wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			rev, err = w.Update(wctx, renamePort(0, fmt.Sprintf("w-%d", i)))
			cancel()
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.NoError(t, err, "write %d", i)
		last = max(last, rev)
	}
	e := next(t, events, "the last written revision", snapshotAt(last))
	require.Equal(t, last, e.Snapshot.Revision)
	require.Equal(t, fmt.Sprintf("w-%d", writes-1), e.Snapshot.Topology().Ports[0].Name)
	got, rrev, err := etcd.Read(ctx, c, prefix, false)
	require.NoError(t, err)
	require.GreaterOrEqual(t, rrev, last)
	require.Equal(t, e.Snapshot.Topology(), got, "the watcher's state is the store's")
}
