package lab

import (
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func TestLabLinksNamespacesAndCleansUp(t *testing.T) {
	var prefix string
	t.Run("world", func(t *testing.T) {
		l := New(t)
		prefix = l.Prefix()
		a, b := l.Namespace("a"), l.Namespace("b")
		l.Link(a, "veth-a", []string{"100.64.0.1/30"}, b, "veth-b", []string{"100.64.0.2/30"})
		out := l.MustRun(a, "ping", "-c1", "-W2", "100.64.0.2")
		if !strings.Contains(out, "1 received") {
			t.Fatalf("ping between lab namespaces failed:\n%s", out)
		}
		cmd, _ := l.Start(b, "sleep", "60")
		if cmd.Process.Pid == 0 {
			t.Fatal("no pid")
		}
		if v, err := a.ReadSysctl("net.ipv4.ip_forward"); err != nil || v != "0" {
			t.Fatalf("sysctl in a fresh namespace: %q %v", v, err)
		}
		if err := a.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
			t.Fatal(err)
		}
		if v, _ := a.ReadSysctl("net/ipv4/ip_forward"); v != "1" {
			t.Fatalf("sysctl not applied in namespace: %q", v)
		}
		if v, _ := b.ReadSysctl("net/ipv4/ip_forward"); v != "0" {
			t.Fatalf("sysctl leaked to another namespace: %q", v)
		}
		_ = time.Second
	})
	if prefix == "" {
		t.Skip("needs root")
	}
	if left, _ := managerList(prefix); len(left) != 0 {
		t.Fatalf("namespaces left after cleanup: %v", left)
	}
}
