package namespace_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
)

// BenchmarkNamespaceCreateDelete creates a named namespace with
// Manager.Ensure (a handle with its netlink sockets included) and deletes it.
// Compare with BenchmarkIPNetnsAddDelete in the same run.
func BenchmarkNamespaceCreateDelete(b *testing.B) {
	l := lab.New(b)
	m := l.Manager()
	for i := 0; i < b.N; i++ {
		h, created, err := m.Ensure("bench")
		if err != nil || !created {
			b.Fatalf("Ensure: created=%v %v", created, err)
		}
		if err := h.Close(); err != nil {
			b.Fatal(err)
		}
		if err := m.Delete("bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIPNetnsAddDelete is the baseline: one `ip netns add` and one
// `ip netns del` process per namespace, as a shell script would do it.
func BenchmarkIPNetnsAddDelete(b *testing.B) {
	lab.RequireCmd(b, "ip")
	l := lab.New(b)
	name := l.Manager().FullName("bench")
	ip := func(args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
			b.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	for i := 0; i < b.N; i++ {
		ip("netns", "add", name)
		ip("netns", "del", name)
	}
}
