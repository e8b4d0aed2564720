package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/source"
)

// scripted is a Source that yields the events it is sent.
type scripted struct{ events chan source.Event }

func (s *scripted) Run(ctx context.Context, yield func(source.Event)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-s.events:
			yield(e)
		}
	}
}

func (s *scripted) Status() source.Status { return source.Status{Connected: true} }

// TestFeedAppliesOnlyWhatConcernsTheHostAndNeverLosesADelta drives the
// agent's feed with snapshots whose deltas concern the host or not, and a
// rejection arriving after a good snapshot that was not taken yet.
func TestFeedAppliesOnlyWhatConcernsTheHostAndNeverLosesADelta(t *testing.T) {
	topo, err := neutrino.LoadFile("../topologies/two-node-vxlan.json")
	if err != nil {
		t.Fatal(err)
	}
	topo.Defaults()
	src := &scripted{events: make(chan source.Event)}
	triggers := make(chan trigger, 4)
	m := newMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	f := startFeed(ctx, src, "node1", m, log, triggers)
	send := func(e source.Event) {
		src.events <- e
		select {
		case <-triggers:
		case <-time.After(10 * time.Second):
			t.Fatal("no trigger")
		}
	}
	next := func() (*neutrino.Topology, bool) { return f.next(m, log) }

	send(source.Event{Snapshot: source.NewSnapshot(topo, 1, nil)})
	if got, concerned := next(); got != topo || !concerned {
		t.Fatalf("first snapshot: got %v, concerned %v", got != nil, concerned)
	}
	if got, _ := next(); got != nil {
		t.Fatal("a snapshot is taken once")
	}

	// A network nobody uses: nothing to apply.
	n := topo.Networks[0]
	n.ID, n.SegmentationID = "aaaaaaaa-0000-4000-8000-000000000001", 4242
	nb, _ := json.Marshal(n)
	send(source.Event{Snapshot: source.NewSnapshot(topo, 2, delta("networks", n.ID, nb))})
	if got, concerned := next(); got == nil || concerned {
		t.Fatalf("unrelated change: got %v, concerned %v", got != nil, concerned)
	}

	// node1's port changes, then (before the loop takes it) a rejection:
	// the good snapshot must still be applied.
	p := topo.Ports[0]
	pb, _ := json.Marshal(p)
	send(source.Event{Snapshot: source.NewSnapshot(topo, 3, delta("ports", p.ID, pb))})
	send(source.Event{Err: errors.New("ports/x: invalid")})
	if got, concerned := next(); got == nil || !concerned {
		t.Fatalf("good snapshot before a rejection: got %v, concerned %v", got != nil, concerned)
	}
	if v := testutil.ToFloat64(m.topologyValid); v != 0 {
		t.Errorf("neutrino_topology_valid = %v after a rejection", v)
	}
	if v := testutil.ToFloat64(m.sourceRejected); v != 1 {
		t.Errorf("neutrino_source_rejected_total = %v", v)
	}
}

func delta(coll, id string, v []byte) *source.Delta {
	return &source.Delta{Changes: []source.Change{{Ref: source.Ref{Collection: coll, ID: id}, Value: v}}}
}
