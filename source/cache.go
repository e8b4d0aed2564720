package source

import (
	"crypto/sha256"
	"reflect"
	"sync"

	"github.com/neutrino-net/neutrino"
)

// Cache shares decoded objects between the Objects of one process, so that
// many sources watching one store (a simulation of many nodes, a controller
// serving many tenants' agents) decode each object version once and hold it
// once. Decoded objects are read-only, so sharing them is safe. The cache
// forgets everything when it holds more than its limit of versions.
type Cache struct {
	max int

	mu sync.Mutex
	m  map[cacheKey]reflect.Value
}

type cacheKey struct {
	ref      Ref
	sum      [sha256.Size]byte
	defaults bool
}

// NewCache returns a cache of at most max object versions.
func NewCache(max int) *Cache { return &Cache{max: max, m: map[cacheKey]reflect.Value{}} }

// decode returns the cached decoding of value, or the result of decode,
// which is cached if it succeeded. Errors are not cached: they are rare and
// cheap to find again.
func (c *Cache) decode(ref Ref, value []byte, defaults bool, decode func() (reflect.Value, error)) (reflect.Value, error) {
	k := cacheKey{ref: ref, sum: sha256.Sum256(value), defaults: defaults}
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := decode()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v, nil
}

// Verdicts shares validation between the sources of one process that watch
// one store: the state at a revision is the same for every watcher, so
// validating it (and assembling the document to do so) once is enough. The
// first source to need a verdict computes it; the others wait for it and
// share the document. It keeps the last max verdicts.
type Verdicts struct {
	max int

	mu    sync.Mutex
	m     map[string]*verdict
	order []string
}

type verdict struct {
	done chan struct{}
	snap *Snapshot
	err  error
}

// NewVerdicts returns a store of the last max verdicts.
func NewVerdicts(max int) *Verdicts { return &Verdicts{max: max, m: map[string]*verdict{}} }

// Do returns the verdict for key, computing it with validate if no other
// caller has: a snapshot of the shared document (whose index is built once
// for all callers) at rev with delta d, or the problem. The document is
// shared: read-only.
func (v *Verdicts) Do(key string, rev int64, d *Delta, validate func() (*neutrino.Topology, error)) (*Snapshot, error) {
	v.mu.Lock()
	e, ok := v.m[key]
	if !ok {
		e = &verdict{done: make(chan struct{})}
		v.m[key] = e
		v.order = append(v.order, key)
		if len(v.order) > v.max {
			delete(v.m, v.order[0])
			v.order = v.order[1:]
		}
	}
	v.mu.Unlock()
	if ok {
		<-e.done
	} else {
		var t *neutrino.Topology
		t, e.err = validate()
		if e.err == nil {
			e.snap = &Snapshot{topo: t, index: sync.OnceValue(t.Index)}
		}
		close(e.done)
	}
	if e.err != nil {
		return nil, e.err
	}
	return &Snapshot{Revision: rev, Delta: d, topo: e.snap.topo, index: e.snap.index}, nil
}
