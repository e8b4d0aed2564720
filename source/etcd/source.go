package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/source"
)

// Source watches the objects under a prefix of etcd. Create it with New.
type Source struct {
	client   *clientv3.Client
	prefix   string
	log      *slog.Logger
	defaults bool
	minWait  time.Duration
	maxWait  time.Duration
	probe    time.Duration
	timeout  time.Duration
	cache    *source.Cache
	verdicts *source.Verdicts

	mu     sync.Mutex
	status source.Status
}

var _ source.Source = (*Source)(nil)

// Option configures a Source.
type Option func(*Source)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(s *Source) { s.log = l } }

// WithDefaults applies Neutron's defaults to every object before validating
// (node-agent's --apply-defaults).
func WithDefaults(on bool) Option { return func(s *Source) { s.defaults = on } }

// WithBackoff sets the first and the longest wait between reconnection
// attempts (default 100ms, 10s); the wait doubles after each failure.
func WithBackoff(first, longest time.Duration) Option {
	return func(s *Source) { s.minWait, s.maxWait = first, longest }
}

// WithProbe sets how often the connection is checked while the watch is
// quiet, and how long a request may take (default 2s, 2s). A watch alone
// does not notice that its server is gone: the client resumes it silently.
func WithProbe(every, timeout time.Duration) Option {
	return func(s *Source) { s.probe, s.timeout = every, timeout }
}

// WithShared lets sources of one process that watch the same store share
// decoded objects (cache) and validation results (verdicts): what makes a
// thousand simulated nodes in one process cost what one node costs per
// change, rather than a thousand times. Either may be nil.
func WithShared(cache *source.Cache, verdicts *source.Verdicts) Option {
	return func(s *Source) { s.cache, s.verdicts = cache, verdicts }
}

// New returns a source watching <prefix>/v1/ through client, which the
// caller keeps and closes.
func New(client *clientv3.Client, prefix string, opts ...Option) *Source {
	s := &Source{
		client: client, prefix: prefix, log: slog.New(slog.DiscardHandler),
		minWait: 100 * time.Millisecond, maxWait: 10 * time.Second,
		probe: 2 * time.Second, timeout: 2 * time.Second,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Status implements source.Source.
func (s *Source) Status() source.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// connected records a change of reachability; it reports whether the state
// changed, so that an outage is reported once.
func (s *Source) connected(up bool, err error) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Err = err
	if s.status.Connected == up && !s.status.Since.IsZero() {
		return false
	}
	s.status.Connected, s.status.Since = up, time.Now()
	return true
}

func (s *Source) good(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Revision, s.status.Err = rev, nil
}

func (s *Source) rejected(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Err = err
}

// errResync ends a watch whose history cannot be resumed: compacted, or
// a store whose revision went back (restored from a backup, or a new
// cluster at the same address).
var errResync = errors.New("etcd source: resync needed")

// Run implements source.Source: snapshot, watch, and on any break a fresh
// snapshot after a backoff.
func (s *Source) Run(ctx context.Context, yield func(source.Event)) error {
	wait := s.minWait
	for {
		st := &state{objs: newObjects(s.prefix, s.defaults, source.WithCache(s.cache))}
		err := s.snapshot(ctx, st, yield)
		if err == nil {
			wait = s.minWait
			err = s.watch(ctx, st, yield)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errResync) {
			s.log.Info("taking a fresh snapshot", "prefix", s.prefix, "reason", err.Error())
			// A pause, so that a watch that keeps breaking cannot spin.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(s.minWait):
			}
			continue
		}
		if s.connected(false, err) {
			s.log.Warn("etcd unreachable; keeping the last good state", "prefix", s.prefix, "err", err.Error())
			yield(source.Event{Err: fmt.Errorf("etcd source %s: %w", s.prefix, err)})
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, s.maxWait)
	}
}

// state is one snapshot-and-watch cycle's view of the store.
type state struct {
	objs    *source.Objects
	rev     int64  // the store revision objs reflects
	cluster uint64 // the cluster's ID, part of a shared verdict's key
	// pending is what changed since the last snapshot yielded; nil until
	// one is yielded in this cycle (the consumer must then take it whole).
	pending *source.Delta
}

func (s *Source) snapshot(ctx context.Context, st *state, yield func(source.Event)) error {
	rctx, cancel := context.WithTimeout(ctx, 4*s.timeout)
	defer cancel()
	resp, err := s.client.Get(rctx, objectsPrefix(s.prefix), clientv3.WithPrefix())
	if err != nil {
		return err
	}
	for _, kv := range resp.Kvs {
		if ref, ok := ParseKey(s.prefix, string(kv.Key)); ok {
			_ = st.objs.Put(ref, kv.Value) // reported by publish
		} else {
			s.log.Warn("ignoring a key that names no object", "key", string(kv.Key))
		}
	}
	st.rev, st.cluster = resp.Header.Revision, resp.Header.ClusterId
	s.connected(true, nil)
	s.publish(st, yield)
	return nil
}

// publish yields the state as a snapshot, or its problems. With shared
// verdicts the snapshot's document is the one shared by the sources of the
// process.
func (s *Source) publish(st *state, yield func(source.Event)) {
	var (
		snap *source.Snapshot
		err  error
	)
	if s.verdicts != nil {
		key := fmt.Sprintf("%x|%s|%d|%t", st.cluster, s.prefix, st.rev, s.defaults)
		snap, err = s.verdicts.Do(key, st.rev, st.pending, st.objs.Topology)
	} else {
		var topo *neutrino.Topology
		if topo, err = st.objs.Topology(); err == nil {
			snap = source.NewSnapshot(topo, st.rev, st.pending)
		}
	}
	if err != nil {
		s.rejected(err)
		s.log.Error("desired state rejected; keeping the last good state", "revision", st.rev, "err", err.Error())
		yield(source.Event{Err: err})
		return
	}
	s.good(st.rev)
	yield(source.Event{Snapshot: snap})
	st.pending = &source.Delta{}
}

func (s *Source) watch(ctx context.Context, st *state, yield func(source.Event)) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	// Watch itself blocks while the server is unreachable: call it aside,
	// so that the probe keeps running and reports the outage.
	opened := make(chan clientv3.WatchChan, 1)
	go func() {
		opened <- s.client.Watch(wctx, objectsPrefix(s.prefix), clientv3.WithPrefix(), clientv3.WithRev(st.rev+1))
	}()
	var ch clientv3.WatchChan // nil, so never ready, until opened
	probe := time.NewTicker(s.probe)
	defer probe.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ch = <-opened:
		case resp, ok := <-ch:
			if !ok {
				return fmt.Errorf("%w: watch closed", errResync)
			}
			if resp.CompactRevision != 0 {
				return fmt.Errorf("%w: revision %d compacted", errResync, resp.CompactRevision)
			}
			if err := resp.Err(); err != nil {
				return fmt.Errorf("%w: %w", errResync, err)
			}
			if s.apply(st, resp.Events) {
				s.connected(true, nil)
				s.publish(st, yield)
			}
		case <-probe.C:
			if err := s.check(ctx, st); err != nil {
				if errors.Is(err, errResync) {
					return err
				}
				if s.connected(false, err) {
					s.log.Warn("etcd unreachable; keeping the last good state", "prefix", s.prefix, "err", err.Error())
					yield(source.Event{Err: fmt.Errorf("etcd source %s: %w", s.prefix, err)})
				}
			} else if s.connected(true, nil) {
				s.log.Info("etcd reachable again", "prefix", s.prefix, "revision", st.rev)
			}
		}
	}
}

// apply applies the events newer than the state, in order, and reports
// whether any was.
func (s *Source) apply(st *state, events []*clientv3.Event) bool {
	applied := false
	last := st.rev
	for _, ev := range events {
		if ev.Kv.ModRevision <= st.rev {
			continue // already in the snapshot: never apply twice
		}
		last = max(last, ev.Kv.ModRevision)
		ref, ok := ParseKey(s.prefix, string(ev.Kv.Key))
		if !ok {
			continue
		}
		applied = true
		c := source.Change{Ref: ref}
		if ev.Type == clientv3.EventTypeDelete {
			st.objs.Delete(ref)
		} else {
			_ = st.objs.Put(ref, ev.Kv.Value) // reported by publish
			c.Value = ev.Kv.Value
		}
		if st.pending != nil {
			st.pending.Changes = append(st.pending.Changes, c)
		}
	}
	st.rev = last
	return applied
}

// check asks the cluster for a key (a linearizable read, so it needs a
// leader) and compares its revision with ours.
func (s *Source) check(ctx context.Context, st *state) error {
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Get(pctx, writerKey(s.prefix))
	if err != nil {
		return err
	}
	if resp.Header.Revision < st.rev {
		return fmt.Errorf("%w: store revision %d is behind ours, %d", errResync, resp.Header.Revision, st.rev)
	}
	return nil
}

// Read returns the topology stored under prefix once, validated, and the
// revision it was read at: for one-shot commands (plan, apply). defaults
// applies Neutron's defaults to each object first.
func Read(ctx context.Context, client *clientv3.Client, prefix string, defaults bool) (*neutrino.Topology, int64, error) {
	resp, err := client.Get(ctx, objectsPrefix(prefix), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("etcd source %s: %w", prefix, err)
	}
	objs := newObjects(prefix, defaults)
	for _, kv := range resp.Kvs {
		if ref, ok := ParseKey(prefix, string(kv.Key)); ok {
			_ = objs.Put(ref, kv.Value) // reported by Topology
		}
	}
	t, err := objs.Topology()
	return t, resp.Header.Revision, err
}

// newObjects holds the objects of prefix, naming each by its key in errors.
func newObjects(prefix string, defaults bool, opts ...source.ObjectsOption) *source.Objects {
	return source.NewObjects(append([]source.ObjectsOption{source.WithDefaults(defaults),
		source.WithNames(func(r source.Ref) string { return Key(prefix, r) })}, opts...)...)
}
