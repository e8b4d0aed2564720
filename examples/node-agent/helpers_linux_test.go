package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

// agentBin is the node-agent binary the tests run, built once by TestMain.
var agentBin string

func TestMain(m *testing.M) {
	if os.Geteuid() == 0 { // the privileged tests are the only users
		bin, err := buildAgent()
		if err != nil {
			fmt.Fprintln(os.Stderr, "build node-agent:", err)
			os.Exit(1)
		}
		agentBin = bin
	}
	lab.Main(m)
}

// buildAgent builds the binary as users do (no race detector: the agent's
// speed is part of what the crash test exercises). lab.Main ends the process,
// so the binary cannot be removed afterwards: it is named after this
// process's PID in one directory, and binaries of finished runs are removed
// here.
func buildAgent() (string, error) {
	dir := filepath.Join(os.TempDir(), "neutrino-node-agent-test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), "node-agent-"))
		if err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	bin := filepath.Join(dir, "node-agent-"+strconv.Itoa(os.Getpid()))
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return bin, nil
}

// node is one simulated node: a lab namespace the agent runs in, with the
// node prefix its namespaces get.
type node struct {
	l      *lab.Lab
	h      *namespace.Handle
	host   string // hosts[].name and binding:host_id
	prefix string // --node-prefix
}

func newNode(l *lab.Lab, host string) *node {
	return &node{l: l, h: l.Namespace(host), host: host, prefix: l.NodePrefix(host)}
}

// mgr manages the namespaces the node's agent creates.
func (n *node) mgr() *namespace.Manager { return namespace.NewManager(n.prefix) }

func (n *node) argv(cmd, topo string, extra ...string) []string {
	argv := []string{cmd, "--netns", n.h.Path(), "--node-prefix", n.prefix, "--host", n.host}
	if topo != "" {
		argv = append(argv, "--topology", topo)
	}
	return append(argv, extra...)
}

// result is what a one-shot agent command printed and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

var mutationsRe = regexp.MustCompile(`(?m)^\S+\s+(\d+) mutations`)

// mutations sums the per-realizer counts of an apply's report.
func (r result) mutations() int {
	n := 0
	for _, m := range mutationsRe.FindAllStringSubmatch(r.stdout, -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

// exec runs a one-shot agent command (plan, apply, destroy) to its end.
func (n *node) exec(t testing.TB, cmd, topo string, extra ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, agentBin, n.argv(cmd, topo, extra...)...)
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("node-agent %s: %v", cmd, err)
	}
	return r
}

// mustExec is exec that fails the test unless the command succeeds.
func (n *node) mustExec(t testing.TB, cmd, topo string, extra ...string) result {
	t.Helper()
	r := n.exec(t, cmd, topo, extra...)
	if r.code != 0 {
		t.Fatalf("node-agent %s on %s: %s", cmd, n.host, r)
	}
	return r
}

// agentProc is a node-agent process in the background.
type agentProc struct {
	cmd  *exec.Cmd
	log  *lab.SafeBuffer
	done chan struct{}
	err  error // the process's end, once done is closed
}

// start starts a node-agent command in the background, in its own process
// group. Not with lab.Start: `ip netns exec` gives the agent a private mount
// namespace, where the namespaces it bind-mounts would stay hidden. The
// test's cleanup stops it by PID.
func (n *node) start(t testing.TB, cmd, topo string, extra ...string) *agentProc {
	t.Helper()
	p := &agentProc{cmd: exec.Command(agentBin, n.argv(cmd, topo, extra...)...), log: &lab.SafeBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start node-agent %s: %v", cmd, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(syscall.SIGTERM) })
	return p
}

// stop signals the process and waits for it, killing it after 5 s.
func (p *agentProc) stop(sig syscall.Signal) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = syscall.Kill(p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return p.err
}

// exited reports whether the process has ended.
func (p *agentProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// eventually polls cond every 100 ms until it holds or timeout passes, and
// returns how long it took and whether it held.
func eventually(timeout time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpGet fetches http://addr/path from inside h. The socket must be made
// in the namespace, and net/http dials on goroutines of its own, so the
// connection is dialed here and the request written on it by hand.
func httpGet(h *namespace.Handle, addr, path string) (int, string, error) {
	var conn net.Conn
	err := h.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		conn = c
		return err
	})
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// metricsAddr is where the agent serves /metrics inside its namespace.
const metricsAddr = "127.0.0.1:9777"

// scrape reads the agent's /metrics: series (name with labels) -> value.
func scrape(h *namespace.Handle) (map[string]float64, error) {
	code, body, err := httpGet(h, metricsAddr, "/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("/metrics: HTTP %d", code)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("/metrics line %q: %w", line, err)
		}
		out[line[:i]] = v
	}
	return out, nil
}

// waitApplied waits until the running agent has finished at least n applies
// without error, and returns the metrics then.
func waitApplied(t testing.TB, n *node, p *agentProc, count float64) map[string]float64 {
	t.Helper()
	var m map[string]float64
	if _, ok := eventually(60*time.Second, func() bool {
		if p.exited() {
			return true
		}
		var err error
		m, err = scrape(n.h)
		return err == nil && m[`neutrino_applies_total{result="ok"}`] >= count
	}); !ok || p.exited() {
		t.Fatalf("agent on %s: no %v successful applies (metrics %v)\nlog:\n%s", n.host, count, m, p.log.String())
	}
	return m
}

// udhcpcScript writes a udhcpc hook that puts the leased address on the
// interface (and the default route) and prints it.
func udhcpcScript(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "udhcpc.sh")
	script := `#!/bin/sh
case "$1" in bound|renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route replace default via "${router%% *}"
	echo "leased $ip" ;;
esac
exit 0
`
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
