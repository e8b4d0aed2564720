package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
)

// The capabilities the agent's service runs with (see the unit example):
// netlink and nftables (NET_ADMIN), entering and creating namespaces
// (SYS_ADMIN), ARP and raw sockets (NET_RAW), DHCP's and DNS's ports
// (NET_BIND_SERVICE).
var agentCaps = map[string]uintptr{
	"CAP_NET_ADMIN": 12, "CAP_SYS_ADMIN": 21, "CAP_NET_RAW": 13, "CAP_NET_BIND_SERVICE": 10,
}

// nobody is the unprivileged user the test runs the agent as.
const nobody = 65534

// TestApplyAsAnUnprivilegedUserWithOnlyTheServiceCapabilities runs
// `node-agent apply` as uid 65534 holding only the service's ambient
// capabilities and requires the node to converge (L2, an instance port
// plugged into its namespace, security groups); without CAP_NET_ADMIN the
// same command must fail, so the capabilities are what made it work.
func TestApplyAsAnUnprivilegedUserWithOnlyTheServiceCapabilities(t *testing.T) {
	l := lab.New(t)
	n1 := newNode(l, "node1")
	l.Namespace("vm1")
	b := &builder{}
	b.host("node1", "198.18.0.1")
	b.vxlanNet(1, "100.64.10.0/24", false)
	sg := b.group(1, 22, 22)
	b.instance(11, 1, 11, "node1", l.Manager().Path("vm1"), sg)
	dir, err := os.MkdirTemp("", "node-agent-caps-") // t.TempDir's parent is private
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // readable by nobody
		t.Fatal(err)
	}
	file := filepath.Join(dir, "topology.json")
	b.write(t, file)
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}

	run := func(caps ...string) (string, error) {
		var ambient []uintptr
		for _, c := range caps {
			ambient = append(ambient, agentCaps[c])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, agentBin, n1.argv("apply", file, "--metrics-addr", "")...)
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential:  &syscall.Credential{Uid: nobody, Gid: nobody, NoSetGroups: true},
			AmbientCaps: ambient,
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_NET_BIND_SERVICE")
	if err == nil || !strings.Contains(out, "operation not permitted") {
		t.Fatalf("apply without CAP_NET_ADMIN did not fail on a kernel permission (%v); the test proves nothing:\n%s", err, out)
	}
	t.Logf("without CAP_NET_ADMIN, as expected: %v\n%s", err, firstLines(out, 3))

	out, err = run("CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE")
	if err != nil {
		t.Fatalf("apply as uid %d with %v: %v\n%s", nobody, keys(agentCaps), err, out)
	}
	requireConverged(t, n1, &b.Topology)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func keys(m map[string]uintptr) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
