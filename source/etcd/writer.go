package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/source"
)

// ErrConflict is returned when every attempt of a write met a concurrent
// writer.
var ErrConflict = errors.New("etcd writer: the store changed during every attempt")

// Writer writes desired state under a prefix, one key per object, each
// write in one transaction guarded by the revision it read.
type Writer struct {
	client   *clientv3.Client
	prefix   string
	defaults bool
	attempts int
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithWriterDefaults applies Neutron's defaults to the topology before it is
// validated and written.
func WithWriterDefaults(on bool) WriterOption { return func(w *Writer) { w.defaults = on } }

// WithAttempts sets how often a write is tried against concurrent writers
// (default 5).
func WithAttempts(n int) WriterOption { return func(w *Writer) { w.attempts = max(n, 1) } }

// NewWriter returns a writer through client, which the caller keeps.
func NewWriter(client *clientv3.Client, prefix string, opts ...WriterOption) *Writer {
	w := &Writer{client: client, prefix: prefix, attempts: 5}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Put replaces the whole stored topology with t: objects not in t are
// deleted. It returns the revision of the transaction. With
// WithWriterDefaults, t's objects get Neutron's defaults in place.
func (w *Writer) Put(ctx context.Context, t *neutrino.Topology) (int64, error) {
	return w.Update(ctx, func(cur *neutrino.Topology) error {
		*cur = *t
		return nil
	})
}

// Update reads the stored topology, lets change modify it, validates the
// result and writes what differs in one transaction that succeeds only if
// nothing under the prefix was written since the read; otherwise it reads
// again and calls change again. Objects stored that do not decode are not
// in cur, and are deleted unless change puts them back. Nothing is written
// when change or validation fails.
func (w *Writer) Update(ctx context.Context, change func(cur *neutrino.Topology) error) (int64, error) {
	for range w.attempts {
		rev, ok, err := w.try(ctx, change)
		if err != nil || ok {
			return rev, err
		}
	}
	return 0, ErrConflict
}

func (w *Writer) try(ctx context.Context, change func(*neutrino.Topology) error) (int64, bool, error) {
	resp, err := w.client.Get(ctx, objectsPrefix(w.prefix), clientv3.WithPrefix())
	if err != nil {
		return 0, false, fmt.Errorf("etcd writer: read %s: %w", w.prefix, err)
	}
	guard, err := w.client.Get(ctx, writerKey(w.prefix), clientv3.WithRev(resp.Header.Revision))
	if err != nil {
		return 0, false, fmt.Errorf("etcd writer: read %s: %w", writerKey(w.prefix), err)
	}
	objs := source.NewObjects()
	stored := map[source.Ref][]byte{}
	for _, kv := range resp.Kvs {
		if ref, ok := ParseKey(w.prefix, string(kv.Key)); ok {
			stored[ref] = kv.Value
			_ = objs.Put(ref, kv.Value)
		}
	}
	cur := objs.Unvalidated()
	if err := change(cur); err != nil {
		return 0, false, err
	}
	if w.defaults {
		cur.Defaults()
	}
	if err := cur.Validate(); err != nil {
		return 0, false, err
	}
	want, err := source.Split(cur)
	if err != nil {
		return 0, false, err
	}
	var ops []clientv3.Op
	for ref, v := range want {
		if !bytes.Equal(stored[ref], v) {
			ops = append(ops, clientv3.OpPut(Key(w.prefix, ref), string(v)))
		}
	}
	for ref := range stored {
		if _, keep := want[ref]; !keep {
			ops = append(ops, clientv3.OpDelete(Key(w.prefix, ref)))
		}
	}
	if len(ops) == 0 {
		return resp.Header.Revision, true, nil
	}
	// The guard: no object written since the read (a range compare), and
	// the writer key untouched, which catches deletions the range compare
	// cannot see.
	guardRev := int64(0)
	if len(guard.Kvs) > 0 {
		guardRev = guard.Kvs[0].ModRevision
	}
	ops = append(ops, clientv3.OpPut(writerKey(w.prefix), strconv.FormatInt(resp.Header.Revision, 10)))
	txn, err := w.client.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(objectsPrefix(w.prefix)).WithPrefix(), "<", resp.Header.Revision+1),
		clientv3.Compare(clientv3.ModRevision(writerKey(w.prefix)), "=", guardRev),
	).Then(ops...).Commit()
	if err != nil {
		return 0, false, fmt.Errorf("etcd writer: transaction of %d operations (a server's --max-txn-ops must allow them): %w", len(ops), err)
	}
	return txn.Header.Revision, txn.Succeeded, nil
}
