package namespace

import (
	"errors"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestReexecIntoIsANoOpInsideTheNamespace(t *testing.T) {
	// The process's own namespace: nothing to re-execute.
	if err := ReexecInto("/proc/self/ns/net"); err != nil {
		t.Fatal(err)
	}
	if err := ReexecInto("/run/netns/neutrino-no-such-namespace"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("missing namespace: %v", err)
	}
}
