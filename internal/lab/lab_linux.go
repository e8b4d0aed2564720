package lab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
)

var (
	runPrefix = "nt" + strconv.FormatInt(int64(os.Getpid()), 36) + "-"
	labSeq    atomic.Int64
)

// RunPrefix is the prefix of every namespace this test process creates.
func RunPrefix() string { return runPrefix }

// Lab is one test's world. Create it with New; it cleans itself up.
type Lab struct {
	t      testing.TB
	prefix string
	mgr    *namespace.Manager

	mu      sync.Mutex
	handles []*namespace.Handle
	procs   []*exec.Cmd
}

// RequireRoot skips the test, with the reason, unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("privileged test: needs root to create network namespaces")
	}
}

// RequireCmd skips the test unless the named program is on PATH.
func RequireCmd(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("interop test: %s is not installed (run scripts/install-deps.sh)", n)
		}
	}
}

// New makes a lab for t, skipping when not root. Everything it creates is
// removed when t ends.
func New(t testing.TB) *Lab {
	t.Helper()
	RequireRoot(t)
	l := &Lab{t: t, prefix: fmt.Sprintf("%s%d-", runPrefix, labSeq.Add(1))}
	l.mgr = namespace.NewManager(l.prefix)
	t.Cleanup(l.cleanup)
	return l
}

// Prefix is this lab's namespace prefix. Realizers under test take it (or
// NodePrefix) as their node prefix, so cleanup catches what they create.
func (l *Lab) Prefix() string { return l.prefix }

// NodePrefix is a prefix under the lab's for a simulated node's realizers.
func (l *Lab) NodePrefix(node string) string { return l.prefix + node + "-" }

// Manager manages the lab's namespaces.
func (l *Lab) Manager() *namespace.Manager { return l.mgr }

// Namespace creates the namespace name (under the lab prefix) with lo up.
func (l *Lab) Namespace(name string) *namespace.Handle {
	l.t.Helper()
	h, _, err := l.mgr.Ensure(name)
	if err != nil {
		l.t.Fatalf("lab namespace %s: %v", name, err)
	}
	l.mu.Lock()
	l.handles = append(l.handles, h)
	l.mu.Unlock()
	lo, err := h.Netlink().LinkByName("lo")
	if err == nil {
		err = h.Netlink().LinkSetUp(lo)
	}
	if err != nil {
		l.t.Fatalf("lab namespace %s: lo up: %v", name, err)
	}
	return h
}

// Link joins a and b with a veth pair named aName in a and bName in b, both
// up, and gives each end the addresses listed (CIDR notation).
func (l *Lab) Link(a *namespace.Handle, aName string, aAddrs []string, b *namespace.Handle, bName string, bAddrs []string) {
	l.t.Helper()
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: aName},
		PeerName:      bName,
		PeerNamespace: netlink.NsFd(b.Fd()),
	}
	if err := a.Netlink().LinkAdd(veth); err != nil {
		l.t.Fatalf("lab link %s<->%s: %v", aName, bName, err)
	}
	l.Up(a, aName, aAddrs...)
	l.Up(b, bName, bAddrs...)
}

// Up sets dev up in h and adds the addresses (CIDR notation). IPv6 addresses
// are added without duplicate address detection so tests need not wait.
func (l *Lab) Up(h *namespace.Handle, dev string, addrs ...string) {
	l.t.Helper()
	link, err := h.Netlink().LinkByName(dev)
	if err != nil {
		l.t.Fatalf("lab %s: %v", dev, err)
	}
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			l.t.Fatalf("lab address %q: %v", a, err)
		}
		addr := nl.Addr(p)
		if err := h.Netlink().AddrAdd(link, addr); err != nil {
			l.t.Fatalf("lab %s add %s: %v", dev, a, err)
		}
	}
	if err := h.Netlink().LinkSetUp(link); err != nil {
		l.t.Fatalf("lab %s up: %v", dev, err)
	}
}

// Route adds a route in h (dst "default" or a CIDR) via gw.
func (l *Lab) Route(h *namespace.Handle, dst, gw string) {
	l.t.Helper()
	r := &netlink.Route{Gw: net.ParseIP(gw)}
	if dst != "default" {
		_, n, err := net.ParseCIDR(dst)
		if err != nil {
			l.t.Fatalf("lab route %q: %v", dst, err)
		}
		r.Dst = n
	} else if r.Gw.To4() == nil {
		r.Dst = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	if err := h.Netlink().RouteAdd(r); err != nil {
		l.t.Fatalf("lab route %s via %s: %v", dst, gw, err)
	}
}

// Command returns a command that runs argv inside h (`ip netns exec`).
func (l *Lab) Command(ctx context.Context, h *namespace.Handle, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Name()}, argv...)...)
}

// Run runs argv inside h with a timeout and returns its combined output.
func (l *Lab) Run(h *namespace.Handle, timeout time.Duration, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := l.Command(ctx, h, argv...).CombinedOutput()
	return string(out), err
}

// MustRun is Run that fails the test on error.
func (l *Lab) MustRun(h *namespace.Handle, argv ...string) string {
	l.t.Helper()
	out, err := l.Run(h, 30*time.Second, argv...)
	if err != nil {
		l.t.Fatalf("lab run %v in %s: %v\n%s", argv, h.Name(), err, out)
	}
	return out
}

// MustOutput is MustRun returning standard output alone: iproute2 warns on
// standard error about namespaces other tests are creating at that moment,
// which must not leak into a snapshot.
func (l *Lab) MustOutput(h *namespace.Handle, argv ...string) string {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := l.Command(ctx, h, argv...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		l.t.Fatalf("lab run %v in %s: %v\n%s", argv, h.Name(), err, stderr.String())
	}
	return string(out)
}

// Start starts argv inside h in the background; the lab stops it by PID at
// cleanup. Its output is collected in the returned buffer.
func (l *Lab) Start(h *namespace.Handle, argv ...string) (*exec.Cmd, *SafeBuffer) {
	l.t.Helper()
	cmd := l.Command(context.Background(), h, argv...)
	buf := &SafeBuffer{}
	cmd.Stdout, cmd.Stderr = buf, buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		l.t.Fatalf("lab start %v: %v", argv, err)
	}
	l.mu.Lock()
	l.procs = append(l.procs, cmd)
	l.mu.Unlock()
	return cmd, buf
}

// Stop stops a process started by Start: SIGTERM to its process group, then
// SIGKILL after two seconds.
func Stop(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	}
}

func (l *Lab) cleanup() {
	l.mu.Lock()
	procs, handles := l.procs, l.handles
	l.procs, l.handles = nil, nil
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		Stop(procs[i])
	}
	for _, h := range handles {
		_ = h.Close()
	}
	if err := DeleteAll(l.prefix); err != nil {
		l.t.Errorf("lab cleanup: %v", err)
	}
}

// DeleteAll removes every named namespace whose name starts with prefix.
func DeleteAll(prefix string) error {
	names, err := namespace.NewManager(prefix).List()
	if err != nil {
		return err
	}
	var errs []string
	mgr := namespace.NewManager(prefix)
	for _, n := range names {
		if err := mgr.Delete(n); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// SafeBuffer is a bytes.Buffer safe for a process writing while a test reads.
type SafeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SafeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SafeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var stalePrefix = regexp.MustCompile(`^nt([0-9a-z]+)-`)

// sweepStale removes namespaces of earlier test runs whose process is gone.
func sweepStale() {
	names, _ := namespace.NewManager("nt").List()
	for _, n := range names {
		m := stalePrefix.FindStringSubmatch("nt" + n)
		if m == nil {
			continue
		}
		pid, err := strconv.ParseInt(m[1], 36, 64)
		// Linux PIDs stay below 2^22 (pid_max's ceiling): anything larger
		// is not a lab prefix, whatever it looks like.
		if err != nil || pid <= 0 || pid > 1<<22 || pid == int64(os.Getpid()) {
			continue
		}
		if syscall.Kill(int(pid), 0) == syscall.ESRCH {
			_ = namespace.NewManager("").Delete("nt" + n)
		}
	}
}

var ourDevice = regexp.MustCompile(`^(brq|tap|qr-|qg-|ns-|vxlan-)`)

func hostDevices() map[string]bool {
	out := map[string]bool{}
	links, _ := nl.Dump(netlink.LinkList)
	for _, l := range links {
		out[l.Attrs().Name] = true
	}
	return out
}

// Main runs a package's tests with the leak check: use it as
//
//	func TestMain(m *testing.M) { lab.Main(m) }
func Main(m *testing.M) {
	root := os.Geteuid() == 0
	var before map[string]bool
	if root {
		sweepStale()
		before = hostDevices()
	}
	code := m.Run()
	if root {
		if leaks := Leaks(before); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "lab: leak check failed, left behind: %s\n", strings.Join(leaks, ", "))
			_ = DeleteAll(runPrefix)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Leaks lists namespaces with this run's prefix and Neutrino-named devices in
// the machine's own namespace that were not there before.
func Leaks(before map[string]bool) []string {
	var out []string
	names, _ := namespace.NewManager(runPrefix).List()
	for _, n := range names {
		out = append(out, "namespace "+runPrefix+n)
	}
	for name := range hostDevices() {
		if !before[name] && ourDevice.MatchString(name) {
			out = append(out, "host device "+name)
		}
	}
	return out
}
