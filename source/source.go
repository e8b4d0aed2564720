package source

import (
	"context"
	"encoding/json"
	"time"

	"github.com/neutrino-net/neutrino"
)

// Source yields the desired state of a deployment.
type Source interface {
	// Run calls yield for every new good snapshot and every problem (an
	// invalid state, the store unreachable), one call at a time and in
	// order, until ctx ends; it then returns ctx's error. yield should not
	// block for long: a source may buffer changes meanwhile.
	Run(ctx context.Context, yield func(Event)) error
	// Status says how current the last good snapshot is. Safe to call from
	// any goroutine.
	Status() Status
}

// Event is either a new good snapshot or a problem; after a problem the
// last good snapshot is still the desired state.
type Event struct {
	Snapshot *Snapshot
	Err      error
}

// Snapshot is one validated state of the topology.
type Snapshot struct {
	// Revision orders snapshots of one source: the etcd store revision the
	// state was read at, or a count of good loads for a file.
	Revision int64
	// Delta lists what changed since the previous snapshot yielded; nil
	// means "anything may have changed" (the first snapshot, a resync after
	// compaction or a reconnect that could not resume, a file reload).
	Delta *Delta

	topo  *neutrino.Topology
	index func() *neutrino.Index
}

// NewSnapshot returns the snapshot of a topology already assembled.
func NewSnapshot(t *neutrino.Topology, rev int64, d *Delta) *Snapshot {
	return &Snapshot{Revision: rev, Delta: d, topo: t}
}

// Topology returns the snapshot's document, shared with the source (and,
// with source.Verdicts, with the other sources of the process): treat it as
// read-only.
func (s *Snapshot) Topology() *neutrino.Topology { return s.topo }

// Index returns the document's index, built on first use (and, with
// source.Verdicts, shared by the sources of the process). Not safe for
// concurrent first calls on one snapshot.
func (s *Snapshot) Index() *neutrino.Index {
	if s.index == nil {
		x := s.topo.Index()
		s.index = func() *neutrino.Index { return x }
	}
	return s.index()
}

// Ref names one object: its collection's JSON name ("ports") and its ID
// (for hosts, the name).
type Ref struct {
	Collection string
	ID         string
}

func (r Ref) String() string { return r.Collection + "/" + r.ID }

// Change is one object added, modified (Value set) or deleted (Value nil).
type Change struct {
	Ref
	Value json.RawMessage
}

// Delta is what changed between two snapshots, in the order it happened.
type Delta struct {
	Changes []Change
}

// Merge returns the delta of d followed by next: nil if either is nil.
func (d *Delta) Merge(next *Delta) *Delta {
	if d == nil || next == nil {
		return nil
	}
	return &Delta{Changes: append(append([]Change(nil), d.Changes...), next.Changes...)}
}

// Status says how current a source's state is.
type Status struct {
	// Revision of the last good snapshot (0: none yet).
	Revision int64
	// Connected is true while the source is reachable and being watched;
	// while false, the last good snapshot may be stale.
	Connected bool
	// Since is when Connected last changed: with Connected false, the
	// staleness is time.Since(Since).
	Since time.Time
	// Err is the last problem (invalid state, unreachable store), nil once
	// a good snapshot or a reconnect follows it.
	Err error
}

// Stale returns how long the source has been unreachable, 0 while it is
// connected.
func (s Status) Stale(now time.Time) time.Duration {
	if s.Connected || s.Since.IsZero() {
		return 0
	}
	return now.Sub(s.Since)
}
