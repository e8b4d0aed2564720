package namespace_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

// inode identifies a namespace by its nsfs inode.
func inode(t testing.TB, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func handleInode(t testing.TB, h *namespace.Handle) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(h.Fd(), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// threadInode is the namespace of the calling thread; lock the thread first.
func threadInode(t testing.TB) uint64 {
	t.Helper()
	ino, err := threadNS()
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

// threadNS is threadInode for use inside Do, where a test must not stop the
// goroutine.
func threadNS() (uint64, error) {
	var st unix.Stat_t
	err := unix.Stat(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), &st)
	return st.Ino, err
}

func closeLater(t testing.TB, h *namespace.Handle) *namespace.Handle {
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func TestEnsureCreatesOnceThenOpens(t *testing.T) {
	l := lab.New(t)
	m := l.Manager()
	h1, created, err := m.Ensure("e")
	if err != nil || !created {
		t.Fatalf("first Ensure: created=%v err=%v", created, err)
	}
	closeLater(t, h1)
	if !m.Exists("e") || h1.Name() != m.FullName("e") || h1.Path() != m.Path("e") {
		t.Fatalf("Exists=%v Name=%q Path=%q", m.Exists("e"), h1.Name(), h1.Path())
	}
	h2, created, err := m.Ensure("e")
	if err != nil || created {
		t.Fatalf("second Ensure: created=%v err=%v, want an open of the same namespace", created, err)
	}
	closeLater(t, h2)
	if handleInode(t, h1) != handleInode(t, h2) || handleInode(t, h1) != inode(t, m.Path("e")) {
		t.Fatal("Ensure twice opened two different namespaces")
	}
	h3, err := m.Open("e")
	if err != nil || handleInode(t, closeLater(t, h3)) != handleInode(t, h1) {
		t.Fatalf("Open: %v", err)
	}
	if _, err := m.Open("absent"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("Open(absent) = %v, want ErrNotFound", err)
	}
	if _, _, err := m.Ensure("a/b"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("Ensure(a/b) = %v, want ErrInvalid", err)
	}
	if m.Exists("absent") {
		t.Fatal("Exists(absent)")
	}
}

func TestListOnlyOwnPrefix(t *testing.T) {
	l := lab.New(t)
	l.Namespace("lab") // another prefix under the lab's
	mine := namespace.NewManager(l.Prefix() + "mine-")
	other := namespace.NewManager(l.Prefix() + "other-")
	for _, c := range []struct {
		m    *namespace.Manager
		name string
	}{{mine, "b"}, {mine, "a"}, {other, "a"}, {other, "z"}} {
		h, _, err := c.m.Ensure(c.name)
		if err != nil {
			t.Fatal(err)
		}
		closeLater(t, h)
	}
	if got, err := mine.List(); err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("mine.List() = %v, %v; want [a b]", got, err)
	}
	if got, err := other.List(); err != nil || !slices.Equal(got, []string{"a", "z"}) {
		t.Fatalf("other.List() = %v, %v; want [a z]", got, err)
	}
	all, err := l.Manager().List()
	if err != nil || !slices.Equal(all, []string{"lab", "mine-a", "mine-b", "other-a", "other-z"}) {
		t.Fatalf("lab Manager lists %v, %v", all, err)
	}
}

func TestDeleteAbsentIsNilAndOpenHandleKeepsNamespace(t *testing.T) {
	l := lab.New(t)
	m := l.Manager()
	if err := m.Delete("never"); err != nil {
		t.Fatalf("Delete(absent) = %v", err)
	}
	h := l.Namespace("d")
	if err := m.Delete("d"); err != nil {
		t.Fatal(err)
	}
	if m.Exists("d") {
		t.Fatal("namespace still mounted after Delete")
	}
	if _, err := os.Stat(m.Path("d")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("mount point left behind: %v", err)
	}
	if err := m.Delete("d"); err != nil {
		t.Fatalf("second Delete = %v", err)
	}
	// The open fd still holds the namespace: the handle keeps working.
	if _, err := h.Netlink().LinkByName("lo"); err != nil {
		t.Fatalf("handle on a deleted namespace: %v", err)
	}
	if err := m.Delete("../x"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("Delete(../x) = %v, want ErrInvalid", err)
	}
}

func TestDoSwitchesAndReturns(t *testing.T) {
	l := lab.New(t)
	h := l.Namespace("do")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	origin := threadInode(t)
	var inside uint64
	err := h.Do(func() (err error) {
		inside, err = threadNS()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if inside != handleInode(t, h) || inside == origin {
		t.Fatalf("inside Do the thread is in %d, want %d (origin %d)", inside, handleInode(t, h), origin)
	}
	if now := threadInode(t); now != origin {
		t.Fatalf("after Do the thread is in %d, want its origin %d", now, origin)
	}
	sentinel := errors.New("fn failed")
	if err := h.Do(func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("Do returned %v, want fn's error", err)
	}
	if now := threadInode(t); now != origin {
		t.Fatal("a failing fn left the thread outside its origin")
	}
}

// TestDoReturnsFromAPanic: a caller that recovers a panic from fn (an
// HTTP server does) must go on in its own namespace.
func TestDoReturnsFromAPanic(t *testing.T) {
	l := lab.New(t)
	h := l.Namespace("panic")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	origin := threadInode(t)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want boom", r)
			}
		}()
		_ = h.Do(func() error { panic("boom") })
	}()
	if now := threadInode(t); now != origin {
		t.Fatalf("after a panic in Do the thread is in %d, not its origin %d", now, origin)
	}
}

// TestDoManyGoroutinesLeavesNoThreadBehind runs 100 Do calls into three
// namespaces from 20 goroutines, then checks that every thread of the
// process is back in the origin namespace.
func TestDoManyGoroutinesLeavesNoThreadBehind(t *testing.T) {
	l := lab.New(t)
	hs := []*namespace.Handle{l.Namespace("g0"), l.Namespace("g1"), l.Namespace("g2")}
	want := make([]uint64, len(hs))
	for i, h := range hs {
		want[i] = handleInode(t, h)
	}
	runtime.LockOSThread()
	origin := threadInode(t)
	runtime.UnlockOSThread()

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				n := (g + i) % len(hs)
				errs <- hs[n].Do(func() error {
					ino, err := threadNS()
					if err != nil {
						return err
					}
					if ino != want[n] {
						return fmt.Errorf("goroutine %d call %d: thread in %d, want %d", g, i, ino, want[n])
					}
					runtime.Gosched() // invite the scheduler to move us; it must not
					return nil
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	calls := 0
	for err := range errs {
		calls++
		if err != nil {
			t.Error(err)
		}
	}
	if calls != 100 {
		t.Fatalf("%d Do calls, want 100", calls)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if now := threadInode(t); now != origin {
		t.Fatalf("test goroutine's thread in %d after the Do calls, want %d", now, origin)
	}
	tasks, err := filepath.Glob("/proc/self/task/*/ns/net")
	if err != nil || len(tasks) == 0 {
		t.Fatalf("list threads: %v", err)
	}
	for _, p := range tasks {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			continue // the thread exited meanwhile
		}
		if st.Ino != origin {
			t.Errorf("%s is in namespace %d, not the origin %d", p, st.Ino, origin)
		}
	}
}

func TestSysctlPerNamespace(t *testing.T) {
	l := lab.New(t)
	a, b := l.Namespace("sa"), l.Namespace("sb")
	l.Link(a, "v.1", nil, b, "v.2", nil) // device names with dots
	if err := a.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	if v, err := a.ReadSysctl("net/ipv4/ip_forward"); err != nil || v != "1" {
		t.Fatalf("a: ip_forward=%q %v", v, err)
	}
	if v, err := b.ReadSysctl("net.ipv4.ip_forward"); err != nil || v != "0" {
		t.Fatalf("b: ip_forward=%q %v: a sysctl leaked across namespaces", v, err)
	}
	if err := a.Sysctl("net/ipv6/conf/v.1/disable_ipv6", "1"); err != nil {
		t.Fatal(err)
	}
	if v, err := a.ReadSysctl("net/ipv6/conf/v.1/disable_ipv6"); err != nil || v != "1" {
		t.Fatalf("per-device key of a dotted device: %q %v", v, err)
	}
	if out := l.MustRun(a, "sysctl", "-n", "net.ipv4.ip_forward"); strings.TrimSpace(out) != "1" {
		t.Fatalf("sysctl(8) in a reads ip_forward=%q", out)
	}
	if err := a.Sysctl("kernel.hostname", "x"); !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("Sysctl(kernel.hostname) = %v, want ErrInvalid", err)
	}
	if err := a.Sysctl("net.ipv4.no_such_key", "1"); err == nil {
		t.Fatal("writing a missing key succeeded")
	}
}

func TestCurrentIsTheCallersNamespace(t *testing.T) {
	lab.RequireRoot(t)
	h, err := namespace.Current()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if handleInode(t, h) != threadInode(t) || h.Name() != "" || h.Path() != fmt.Sprintf("/proc/%d/ns/net", os.Getpid()) {
		t.Fatalf("Current: inode %d, thread %d, name %q, path %q", handleInode(t, h), threadInode(t), h.Name(), h.Path())
	}
	if _, err := h.Netlink().LinkByName("lo"); err != nil { // read only
		t.Fatal(err)
	}
	// From inside a lab namespace, Current is that namespace.
	l := lab.New(t)
	ns := l.Namespace("cur")
	var inside *namespace.Handle
	err = ns.Do(func() (err error) {
		inside, err = namespace.Current()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	if handleInode(t, inside) != handleInode(t, ns) {
		t.Fatalf("Current inside Do is %d, want %d", handleInode(t, inside), handleInode(t, ns))
	}
}

func TestHandleNetlinkSeesOnlyItsNamespace(t *testing.T) {
	l := lab.New(t)
	a, b := l.Namespace("na"), l.Namespace("nb")
	l.Link(a, "veth-a", []string{"100.64.0.1/30"}, b, "veth-b", []string{"100.64.0.2/30"})
	if _, err := a.Netlink().LinkByName("veth-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Netlink().LinkByName("veth-b"); err == nil {
		t.Fatal("a's netlink handle sees b's link")
	}
	links, err := b.Netlink().LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, lk := range links {
		names = append(names, lk.Attrs().Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"lo", "veth-b"}) {
		t.Fatalf("b's links: %v", names)
	}
	// The handle opened by path sees the same namespace.
	byPath, err := namespace.OpenPath(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	closeLater(t, byPath)
	if handleInode(t, byPath) != handleInode(t, a) {
		t.Fatal("OpenPath opened another namespace")
	}
	byName, err := namespace.OpenPath(a.Name())
	if err != nil || byName.Name() != a.Name() || handleInode(t, closeLater(t, byName)) != handleInode(t, a) {
		t.Fatalf("OpenPath(bare name): %v", err)
	}
	if _, err := namespace.OpenPath(l.Prefix() + "absent"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Fatalf("OpenPath(absent) = %v, want ErrNotFound", err)
	}
}

// TestIPRoute2SeesOurNamespaces: iproute2 lists and enters namespaces the
// Manager creates, and sees the devices we made through netlink.
func TestIPRoute2SeesOurNamespaces(t *testing.T) {
	lab.RequireCmd(t, "ip")
	l := lab.New(t)
	a, b := l.Namespace("ia"), l.Namespace("ib")
	l.Link(a, "veth-ia", []string{"100.64.1.1/30"}, b, "veth-ib", []string{"100.64.1.2/30"})
	if out := l.MustRun(a, "ip", "link", "show", "veth-ia"); !strings.Contains(out, "veth-ia@") {
		t.Fatalf("ip netns exec %s ip link:\n%s", a.Name(), out)
	}
	if out := l.MustRun(b, "ip", "-4", "addr", "show", "dev", "veth-ib"); !strings.Contains(out, "100.64.1.2/30") {
		t.Fatalf("ip netns exec %s ip addr:\n%s", b.Name(), out)
	}
	out, err := run("ip", "netns", "list")
	if err != nil || !strings.Contains(out, a.Name()) || !strings.Contains(out, b.Name()) {
		t.Fatalf("ip netns list (%v):\n%s", err, out)
	}
	// A namespace iproute2 made is one the Manager can open and delete.
	full := l.Prefix() + "byip"
	if out, err := run("ip", "netns", "add", full); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	h, created, err := l.Manager().Ensure("byip")
	if err != nil || created {
		t.Fatalf("Ensure on an ip-made namespace: created=%v %v", created, err)
	}
	h.Close()
	if err := l.Manager().Delete("byip"); err != nil {
		t.Fatal(err)
	}
	if out, _ := run("ip", "netns", "list"); strings.Contains(out, full) {
		t.Fatalf("ip netns list still shows %s after Delete", full)
	}
}

// TestEnsureRecoversFromAnUnmountedFile: a crash between creating the mount
// point and bind-mounting the namespace leaves an empty file; Ensure must
// converge anyway (`ip netns add` refuses such a file).
func TestEnsureRecoversFromAnUnmountedFile(t *testing.T) {
	l := lab.New(t)
	m := l.Manager()
	l.Namespace("first") // makes sure RunDir exists
	if err := os.WriteFile(m.Path("stale"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(m.Path("stale")) })
	if m.Exists("stale") {
		t.Fatal("an empty file counts as a namespace")
	}
	h, created, err := m.Ensure("stale")
	if err != nil || !created {
		t.Fatalf("Ensure over a stale file: created=%v %v", created, err)
	}
	closeLater(t, h)
	if !m.Exists("stale") {
		t.Fatal("not mounted")
	}
}

// TestEnsureConcurrentCallsAgree: Ensure of one name from many goroutines
// creates it once and every call succeeds.
func TestEnsureConcurrentCallsAgree(t *testing.T) {
	l := lab.New(t)
	m := l.Manager()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		creates int
		inodes  = map[uint64]bool{}
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, created, err := m.Ensure("race")
			if err != nil {
				t.Error(err)
				return
			}
			defer h.Close()
			var st unix.Stat_t
			if err := unix.Fstat(h.Fd(), &st); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			inodes[st.Ino] = true
			if created {
				creates++
			}
		}()
	}
	wg.Wait()
	if creates != 1 || len(inodes) != 1 {
		t.Fatalf("%d creations, %d distinct namespaces; want 1 and 1", creates, len(inodes))
	}
}
