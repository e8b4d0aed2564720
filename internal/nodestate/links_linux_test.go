package nodestate

import (
	"context"
	"testing"

	"github.com/neutrino-net/neutrino/internal/lab"
)

func TestMain(m *testing.M) { lab.Main(m) }

func TestLinksAreDumpedOncePerPassUntilInvalidated(t *testing.T) {
	l := lab.New(t)
	host, other := l.Namespace("host"), l.Namespace("other")
	p := New(host)
	ctx := With(context.Background(), p)

	a, err := Links(ctx, host)
	if err != nil || len(a) == 0 {
		t.Fatalf("links: %v %d", err, len(a))
	}
	if _, err := Links(ctx, host); err != nil || p.Dumps() != 1 {
		t.Fatalf("second read: %v, %d dumps, want the shared one", err, p.Dumps())
	}
	if _, err := Links(ctx, other); err != nil || p.Dumps() != 1 {
		t.Errorf("another namespace's links must not come from (or go into) the pass: %v, %d dumps", err, p.Dumps())
	}

	l.Link(host, "veth-a", nil, other, "veth-b", nil)
	p.Invalidate()
	b, err := Links(ctx, host)
	if err != nil || p.Dumps() != 2 || len(b) != len(a)+1 {
		t.Errorf("after Invalidate: %v, %d dumps, %d links (was %d)", err, p.Dumps(), len(b), len(a))
	}
	if c, err := Links(context.Background(), host); err != nil || len(c) != len(b) || p.Dumps() != 2 {
		t.Errorf("without a pass a caller dumps for itself: %v %d", err, len(c))
	}
}
