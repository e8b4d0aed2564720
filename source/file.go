package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/neutrino-net/neutrino"
)

// File is a Source reading a topology document from a file: the state node
// agents have always read. The file is polled (content hash), which survives
// editors that replace it by rename and needs no inotify. Each good load is
// a snapshot with no Delta; a bad one (unreadable, malformed, invalid)
// yields an Event naming the file and field, and the last good snapshot
// stays the desired state.
type File struct {
	// Path of the JSON document.
	Path string
	// Poll is how often the file is checked; 0 means 500ms.
	Poll time.Duration
	// Defaults applies Neutron's defaults before validating.
	Defaults bool

	mu     sync.Mutex
	status Status
}

var _ Source = (*File)(nil)

// Load reads, defaults and validates the file once.
func (f *File) Load() (*neutrino.Topology, error) {
	t, err := neutrino.LoadFile(f.Path)
	if err != nil {
		return nil, err
	}
	if f.Defaults {
		t.Defaults()
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return t, nil
}

// Run implements Source.
func (f *File) Run(ctx context.Context, yield func(Event)) error {
	poll := f.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	var last []byte
	tick := time.NewTicker(poll)
	defer tick.Stop()
	first := true
	for {
		b, _ := os.ReadFile(f.Path) // an unreadable file is reported by load
		sum := sha256.Sum256(b)
		if first || !bytes.Equal(sum[:], last) {
			first = false
			last = sum[:]
			yield(f.load())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func (f *File) load() Event {
	t, err := f.Load()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.status.Connected {
		f.status.Connected, f.status.Since = true, time.Now()
	}
	f.status.Err = err
	if err != nil {
		return Event{Err: err}
	}
	f.status.Revision++
	return Event{Snapshot: NewSnapshot(t, f.status.Revision, nil)}
}

// Status implements Source. A file is always "connected": a problem reading
// it is an Err.
func (f *File) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}
