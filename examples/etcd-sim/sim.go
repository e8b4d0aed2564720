package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/source"
	"github.com/neutrino-net/neutrino/source/etcd"
	"github.com/neutrino-net/neutrino/source/etcd/etcdtest"
)

type options struct {
	shape            shape
	changes          int
	clients          int
	startConcurrency int
	shared           bool
	endpoints        string
	prefix           string
	jsonOut          string
	cpuProfile       string
}

// results is what a run measured.
type results struct {
	Shape              shape   `json:"shape"`
	Objects            int     `json:"objects"`
	Shared             bool    `json:"shared"`
	Clients            int     `json:"clients"`
	WriteSeconds       float64 `json:"write_seconds"`        // the topology in one transaction
	InitialSyncSeconds float64 `json:"initial_sync_seconds"` // until every node has its first slice
	Changes            int     `json:"changes"`
	Samples            int     `json:"samples"` // concerned nodes over all changes
	P50Ms              float64 `json:"p50_ms"`
	P99Ms              float64 `json:"p99_ms"`
	MaxMs              float64 `json:"max_ms"`
	ConcernedPerChange float64 `json:"concerned_per_change"` // nodes whose slice the change is in
	ReslicedPerChange  float64 `json:"resliced_per_change"`  // nodes that re-sliced
	Missed             int     `json:"missed"`               // concerned nodes that did not re-slice
	ValidateMs         float64 `json:"validate_ms"`          // one validation of the whole document
	SliceMs            float64 `json:"slice_ms"`             // one assembly + ForHost of the whole document
	EtcdRSSBytes       int64   `json:"etcd_rss_bytes"`       // 0 for an etcd we did not start
	HeapBytes          uint64  `json:"heap_bytes"`           // this process, all nodes, after the changes
	SlicesEqual        int     `json:"slices_equal"`         // nodes whose slice equals the full document's
}

func (r *results) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nodes %d, ports %d, objects %d (nodes per network %d), clients %d, shared decoding/validation %t\n",
		r.Shape.Hosts, r.Shape.Hosts*r.Shape.PortsPerHost, r.Objects, r.Shape.HostsPerNet, r.Clients, r.Shared)
	fmt.Fprintf(&b, "write topology (one txn):     %.2fs\n", r.WriteSeconds)
	fmt.Fprintf(&b, "initial sync, all nodes:      %.2fs\n", r.InitialSyncSeconds)
	fmt.Fprintf(&b, "changes %d: commit -> slice updated, %d samples: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		r.Changes, r.Samples, r.P50Ms, r.P99Ms, r.MaxMs)
	fmt.Fprintf(&b, "per change: %.1f nodes concerned, %.1f re-sliced, %d concerned nodes missed\n",
		r.ConcernedPerChange, r.ReslicedPerChange, r.Missed)
	fmt.Fprintf(&b, "one node's own work per change, measured: validate %.1f ms, assemble+slice %.1f ms\n", r.ValidateMs, r.SliceMs)
	fmt.Fprintf(&b, "etcd RSS %.0f MiB; this process's heap %.0f MiB\n", float64(r.EtcdRSSBytes)/(1<<20), float64(r.HeapBytes)/(1<<20))
	fmt.Fprintf(&b, "slices equal to the full document's: %d of %d\n", r.SlicesEqual, r.Shape.Hosts)
	return b.String()
}

// simNode is one simulated node agent: a watch and a slice.
type simNode struct {
	host   string
	slicer *source.Slicer
	first  chan struct{}

	mu      sync.Mutex
	rev     int64               // last snapshot revision seen
	updated map[int64]time.Time // revisions at which the slice was recomputed
	err     error
}

func (n *simNode) yield(e source.Event) {
	if e.Snapshot == nil {
		n.mu.Lock()
		n.err = e.Err
		n.mu.Unlock()
		return
	}
	changed, err := n.slicer.Update(e.Snapshot)
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rev, n.err = e.Snapshot.Revision, err
	if changed {
		n.updated[e.Snapshot.Revision] = now
	}
	if n.first != nil {
		close(n.first)
		n.first = nil
	}
}

func (n *simNode) seen() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rev
}

func newClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		MaxCallRecvMsgSize: 1 << 30, MaxCallSendMsgSize: 1 << 28})
}

func simulate(ctx context.Context, env etcdtest.TB, o options, log *slog.Logger) (*results, error) {
	topo, err := generate(o.shape)
	if err != nil {
		return nil, err
	}
	res := &results{Shape: o.shape, Changes: o.changes, Shared: o.shared}
	var srv *etcdtest.Server
	endpoints := strings.Split(o.endpoints, ",")
	if o.endpoints == "" {
		// One transaction of the whole topology: raise the per-txn limits.
		srv = etcdtest.Start(env, "--max-txn-ops=1000000", "--max-request-bytes=268435456",
			"--quota-backend-bytes=8589934592")
		endpoints = []string{srv.Endpoint()}
	}
	admin, err := newClient(endpoints)
	if err != nil {
		return nil, err
	}
	defer admin.Close()

	objs, err := source.Split(topo)
	if err != nil {
		return nil, err
	}
	res.Objects = len(objs)
	start := time.Now()
	if _, err := etcd.NewWriter(admin, o.prefix).Put(ctx, topo); err != nil {
		return nil, err
	}
	res.WriteSeconds = time.Since(start).Seconds()
	log.Info("topology written", "objects", len(objs), "took", time.Since(start).Round(time.Millisecond))

	measureNodeWork(topo, res)

	nclients := o.clients
	if nclients <= 0 || nclients > o.shape.Hosts {
		nclients = o.shape.Hosts
	}
	res.Clients = nclients
	clients := make([]*clientv3.Client, nclients)
	for i := range clients {
		if clients[i], err = newClient(endpoints); err != nil {
			return nil, err
		}
		defer clients[i].Close()
	}
	var cache *source.Cache
	var verdicts *source.Verdicts
	if o.shared {
		cache, verdicts = source.NewCache(4*len(objs)+1024), source.NewVerdicts(64)
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	nodes := make([]*simNode, o.shape.Hosts)
	sem := make(chan struct{}, max(o.startConcurrency, 1))
	start = time.Now()
	for h := range nodes {
		n := &simNode{host: hostName(h), slicer: source.NewSlicer(hostName(h)), first: make(chan struct{}),
			updated: map[int64]time.Time{}}
		nodes[h] = n
		first := n.first
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		src := etcd.New(clients[h%nclients], o.prefix, etcd.WithDefaults(false), etcd.WithShared(cache, verdicts),
			etcd.WithProbe(10*time.Second, 5*time.Second))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = src.Run(rctx, n.yield)
		}()
		go func() {
			select {
			case <-first:
			case <-rctx.Done():
			}
			<-sem
		}()
	}
	for _, n := range nodes {
		if err := waitClosed(ctx, n, 10*time.Minute); err != nil {
			return nil, err
		}
	}
	res.InitialSyncSeconds = time.Since(start).Seconds()
	log.Info("every node has its slice", "nodes", len(nodes), "took", time.Since(start).Round(time.Millisecond))

	// The initial sync leaves gigabytes of garbage at 1,000 nodes; its
	// collection (seconds of marking on one of two cores) belongs to the
	// sync, not to the changes measured next.
	runtime.GC()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	err = change(ctx, admin, o, nodes, res, log)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	res.HeapBytes = ms.HeapInuse
	if srv != nil {
		res.EtcdRSSBytes, _ = srv.RSS()
	}
	return res, verify(ctx, admin, o, nodes, res)
}

func waitClosed(ctx context.Context, n *simNode, timeout time.Duration) error {
	n.mu.Lock()
	first := n.first
	n.mu.Unlock()
	if first == nil {
		return nil
	}
	select {
	case <-first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		n.mu.Lock()
		defer n.mu.Unlock()
		return fmt.Errorf("%s: no first snapshot after %s (last problem: %v)", n.host, timeout, n.err)
	}
}

// measureNodeWork times what one node does for a change that concerns it
// when nothing is shared: validate the document, assemble it, slice it.
func measureNodeWork(topo *neutrino.Topology, res *results) {
	objs, _ := source.Split(topo)
	o := source.NewObjects()
	for r, v := range objs {
		_ = o.Put(r, v)
	}
	const rounds = 3
	var validate, slice time.Duration
	for range rounds {
		t := time.Now()
		whole := o.Unvalidated()
		a := time.Since(t)
		t = time.Now()
		_ = whole.Validate()
		validate += time.Since(t)
		t = time.Now()
		_, _ = whole.ForHost(hostName(0))
		slice += a + time.Since(t)
	}
	res.ValidateMs = float64(validate.Microseconds()) / 1000 / rounds
	res.SliceMs = float64(slice.Microseconds()) / 1000 / rounds
}

// change renames one port per round and measures, for every node whose
// slice holds the port's network, the time from the write to its re-slice.
func change(ctx context.Context, c *clientv3.Client, o options, nodes []*simNode, res *results, log *slog.Logger) error {
	s := o.shape
	var lat []time.Duration
	concerned, resliced := 0, 0
	for k := range o.changes {
		h := (k*7919 + 13) % s.Hosts
		p := instancePort(s, h, k%s.PortsPerHost, k+1)
		v, err := json.Marshal(p)
		if err != nil {
			return err
		}
		t0 := time.Now()
		resp, err := c.Put(ctx, etcd.Key(o.prefix, source.Ref{Collection: "ports", ID: p.ID}), string(v))
		if err != nil {
			return err
		}
		rev := resp.Header.Revision
		deadline := time.Now().Add(2 * time.Minute)
		for _, n := range nodes {
			for n.seen() < rev {
				if time.Now().After(deadline) {
					return fmt.Errorf("change %d (revision %d): %s has not seen it after 2m", k, rev, n.host)
				}
				time.Sleep(time.Millisecond)
			}
		}
		net := h / s.HostsPerNet
		for i, n := range nodes {
			want := i/s.HostsPerNet == net
			n.mu.Lock()
			at, did := n.updated[rev]
			n.mu.Unlock()
			if did {
				resliced++
			}
			if want {
				concerned++
				if !did {
					res.Missed++
					continue
				}
				lat = append(lat, at.Sub(t0))
			}
		}
	}
	slices.Sort(lat)
	res.Samples = len(lat)
	if len(lat) > 0 {
		pct := func(q float64) float64 {
			return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
		}
		res.P50Ms, res.P99Ms, res.MaxMs = pct(0.50), pct(0.99), float64(lat[len(lat)-1].Microseconds())/1000
	}
	if o.changes > 0 {
		res.ConcernedPerChange = float64(concerned) / float64(o.changes)
		res.ReslicedPerChange = float64(resliced) / float64(o.changes)
	}
	log.Info("changes measured", "changes", o.changes, "p50_ms", res.P50Ms, "p99_ms", res.P99Ms)
	return nil
}

// verify compares every node's slice with the slice of the whole document
// read back from etcd.
func verify(ctx context.Context, c *clientv3.Client, o options, nodes []*simNode, res *results) error {
	whole, _, err := etcd.Read(ctx, c, o.prefix, false)
	if err != nil {
		return err
	}
	var bad []string
	for _, n := range nodes {
		want, err := whole.ForHost(n.host)
		if err != nil {
			return err
		}
		if reflect.DeepEqual(want, n.slicer.Slice()) {
			res.SlicesEqual++
		} else if len(bad) < 5 {
			bad = append(bad, n.host)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d slices differ from the full document's (e.g. %v)", len(nodes)-res.SlicesEqual, len(nodes), bad)
	}
	return nil
}
