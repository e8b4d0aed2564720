package main

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	etcdsource "github.com/neutrino-net/neutrino/source/etcd"
	"github.com/neutrino-net/neutrino/source/etcd/etcdtest"
)

// dialFrom dials TCP from inside h: the test process lives in the
// machine's namespace, the etcd of this test in a node's.
func dialFrom(h *namespace.Handle) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var c net.Conn
		err := h.Do(func() error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			return err
		})
		return c, err
	}
}

// TestTwoNodesFromEtcd is the multi-node world with its desired state in
// etcd: both agents watch one etcd (running on node1's underlay address),
// realize what the writer wrote, follow a change, keep the dataplane while
// etcd is stopped (and say so in their metrics), and recover when it
// returns.
func TestTwoNodesFromEtcd(t *testing.T) {
	l := lab.New(t)
	lab.RequireCmd(t, "ping")
	etcdtest.Binary(t)
	n1, n2 := newNode(l, "node1"), newNode(l, "node2")
	l.Link(n1.h, "underlay", []string{"198.18.0.1/24"}, n2.h, "underlay", []string{"198.18.0.2/24"})
	vms := map[string]*namespace.Handle{}
	for _, name := range []string{"vm1", "vm2", "vm3"} {
		vms[name] = l.Namespace(name)
	}
	srv := etcdtest.StartIn(t, n1.h.Path(), "198.18.0.1", dialFrom(n1.h))
	const prefix = "/e2e"
	w := etcdsource.NewWriter(srv.Client(t), prefix, etcdsource.WithWriterDefaults(true))
	b := twoNodes(l)
	ctx := context.Background()
	if _, err := w.Put(ctx, &b.Topology); err != nil {
		t.Fatal(err)
	}

	flags := []string{"--etcd-endpoints", srv.Endpoint(), "--etcd-prefix", prefix, "--resync-interval", "5s"}
	a1 := n1.start(t, "run", "", flags...)
	a2 := n2.start(t, "run", "", flags...)
	waitApplied(t, n1, a1, 1)
	waitApplied(t, n2, a2, 1)
	requireConverged(t, n1, &b.Topology)
	requireConverged(t, n2, &b.Topology)
	ping := func(t *testing.T, from, to string) {
		t.Helper()
		if out, err := l.Run(vms[from], 20*time.Second, "ping", "-c2", "-i0.2", "-W3", to); err != nil {
			t.Errorf("%s -> %s: %v\n%s", from, to, err, out)
		}
	}
	ping(t, "vm1", "100.64.10.12")

	moveVM2 := func(host string) {
		t.Helper()
		if _, err := w.Update(ctx, func(cur *neutrino.Topology) error {
			for i := range cur.Ports {
				if cur.Ports[i].ID == id(kPort, 12) {
					cur.Ports[i].HostID = host
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range b.Ports {
			if b.Ports[i].ID == id(kPort, 12) {
				b.Ports[i].HostID = host
			}
		}
		for _, n := range []*node{n1, n2} {
			if _, ok := eventually(30*time.Second, func() bool { return len(diffState(n, &b.Topology)) == 0 }); !ok {
				requireConverged(t, n, &b.Topology)
			}
		}
	}

	t.Run("a change written to etcd reaches both nodes", func(t *testing.T) {
		moveVM2("node1")
		ping(t, "vm1", "100.64.10.12")
	})

	t.Run("etcd stopped: the dataplane stays, staleness shows", func(t *testing.T) {
		srv.Stop()
		for _, n := range []*node{n1, n2} {
			var m map[string]float64
			if _, ok := eventually(30*time.Second, func() bool {
				var err error
				m, err = scrape(n.h)
				return err == nil && m["neutrino_source_connected"] == 0 && m["neutrino_source_stale_seconds"] > 0
			}); !ok {
				t.Fatalf("%s: metrics do not show the outage: %v", n.host, m)
			}
		}
		time.Sleep(6 * time.Second) // a resync interval passes without etcd
		requireConverged(t, n1, &b.Topology)
		requireConverged(t, n2, &b.Topology)
		ping(t, "vm1", "100.64.10.12")
	})

	t.Run("etcd back: the agents follow the next change", func(t *testing.T) {
		srv.Restart()
		moveVM2("node2")
		for _, n := range []*node{n1, n2} {
			m, err := scrape(n.h)
			if err != nil || m["neutrino_source_connected"] != 1 {
				t.Errorf("%s: source not reconnected: %v %v", n.host, m, err)
			}
		}
		ping(t, "vm1", "100.64.10.12")
	})

	for _, a := range []*agentProc{a1, a2} {
		if err := a.stop(syscall.SIGTERM); err != nil {
			t.Errorf("agent did not stop cleanly on SIGTERM: %v\n%s", err, a.log.String())
		}
	}
}
