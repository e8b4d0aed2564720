package namespace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/google/nftables"
	mnl "github.com/mdlayher/netlink"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// nftSockBuf is the socket buffer size of nftables connections. The default
// buffers overflow from ~160 rules in one batch (ENOBUFS although applied)
// and fail from ~600 (EMSGSIZE); the nft CLI forces large buffers too.
const nftSockBuf = 64 << 20

// Handle is an open network namespace: a file descriptor that keeps it alive,
// a netlink handle and a lazily created nftables connection inside it.
// A Handle is safe for concurrent use; Close it when done.
type Handle struct {
	name string // "" for a namespace known only by path
	path string
	ns   netns.NsHandle
	nl   *netlink.Handle

	mu  sync.Mutex
	nft *nftables.Conn
}

// Current returns a Handle on the namespace the calling thread is in: the
// node's own namespace when an agent runs in production.
func Current() (*Handle, error) {
	runtime.LockOSThread()
	ns, err := netns.Get()
	runtime.UnlockOSThread()
	if err != nil {
		return nil, wrap("get", "current", err)
	}
	return newHandle("", fmt.Sprintf("/proc/%d/ns/net", os.Getpid()), ns)
}

// OpenPath returns a Handle on the namespace bind-mounted or linked at path
// (e.g. /run/netns/vm1 or /proc/1234/ns/net). A bare name is looked up under
// RunDir.
func OpenPath(path string) (*Handle, error) {
	name := ""
	if !strings.Contains(path, "/") {
		name, path = path, filepath.Join(RunDir, path)
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, wrap("open", path, mapErr(err))
	}
	return newHandle(name, path, ns)
}

func newHandle(name, path string, ns netns.NsHandle) (*Handle, error) {
	nl, err := netlink.NewHandleAt(ns)
	if err != nil {
		ns.Close()
		return nil, wrap("netlink", path, err)
	}
	return &Handle{name: name, path: path, ns: ns, nl: nl}, nil
}

// Name is the namespace's full name under RunDir, or "" if it has none.
func (h *Handle) Name() string { return h.name }

// Path is the file the namespace was opened from.
func (h *Handle) Path() string { return h.path }

// Fd is the namespace file descriptor, valid until Close.
func (h *Handle) Fd() int { return int(h.ns) }

// NsHandle returns the namespace as the netns type, for netlink attributes
// such as a veth peer's namespace.
func (h *Handle) NsHandle() netns.NsHandle { return h.ns }

// Netlink returns the netlink handle whose sockets live in the namespace.
func (h *Handle) Netlink() *netlink.Handle { return h.nl }

// NFT returns the namespace's long-lived nftables connection, creating it on
// first use. One connection for the namespace's life avoids the 10-15 ms a
// socket close waits for the kernel after deletes, and its buffers are sized
// for 10,000-rule batches.
func (h *Handle) NFT() (*nftables.Conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nft != nil {
		return h.nft, nil
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(h.ns)), nftables.AsLasting(),
		nftables.WithSockOptions(bigBuffers))
	if err != nil {
		return nil, wrap("nftables", h.path, err)
	}
	h.nft = c
	return c, nil
}

func bigBuffers(c *mnl.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, nftSockBuf); e != nil {
				serr = errors.Join(serr, e)
			}
		}
	})
	return errors.Join(err, serr)
}

// Do runs fn on a thread switched into the namespace. See the package
// documentation for what must (and must not) run inside Do. The thread is
// switched back also when fn panics or calls runtime.Goexit, so a caller
// that recovers goes on in its own namespace.
func (h *Handle) Do(fn func() error) (err error) {
	runtime.LockOSThread()
	origin, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return wrap("get", "current", err)
	}
	defer origin.Close()
	if err := netns.Set(h.ns); err != nil {
		runtime.UnlockOSThread()
		return wrap("enter", h.path, err)
	}
	defer func() {
		if serr := netns.Set(origin); serr != nil {
			// The thread is stuck in h's namespace: keep it locked so Go
			// terminates it with this goroutine instead of reusing it.
			err = errors.Join(err, wrap("leave", h.path, serr))
			return
		}
		runtime.UnlockOSThread()
	}()
	return fn()
}

// Sysctl writes value to the namespaced sysctl key, given with slashes or
// dots ("net/ipv4/ip_forward" or "net.ipv4.ip_forward"). As with sysctl(8),
// a key with a slash keeps its dots, which device names may contain
// ("net/ipv4/conf/eth0.100/rp_filter"). Only keys under net/ are
// per-namespace.
func (h *Handle) Sysctl(key, value string) error {
	p, err := sysctlPath(key)
	if err != nil {
		return err
	}
	return h.Do(func() error {
		if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s in %s: %w", key, value, h.path, err)
		}
		return nil
	})
}

// ReadSysctl reads a namespaced sysctl key.
func (h *Handle) ReadSysctl(key string) (string, error) {
	p, err := sysctlPath(key)
	if err != nil {
		return "", err
	}
	var out string
	err = h.Do(func() error {
		b, err := os.ReadFile(p)
		out = strings.TrimSpace(string(b))
		return err
	})
	return out, err
}

// Close releases the netlink and nftables sockets and the namespace fd.
func (h *Handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var err error
	if h.nft != nil {
		err = h.nft.CloseLasting()
		h.nft = nil
	}
	if h.nl != nil {
		h.nl.Close()
		h.nl = nil
	}
	if h.ns.IsOpen() {
		err = errors.Join(err, h.ns.Close())
	}
	return err
}

// Ensure opens the namespace called name on this node, creating it if
// absent. Concurrent calls, from this process or another, create it once;
// an unmounted file left at its path (a crash mid-creation) is reused.
func (m *Manager) Ensure(name string) (h *Handle, created bool, err error) {
	if err := checkName(name); err != nil {
		return nil, false, err
	}
	path := m.Path(name)
	if !isNS(path) {
		if created, err = m.create(path); err != nil {
			return nil, false, wrap("create", m.FullName(name), err)
		}
	}
	if h, err = OpenPath(path); err != nil {
		return nil, false, err
	}
	h.name = m.FullName(name)
	return h, created, nil
}

// Open opens the existing namespace called name; ErrNotFound if absent.
func (m *Manager) Open(name string) (*Handle, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	h, err := OpenPath(m.Path(name))
	if err != nil {
		return nil, err
	}
	h.name = m.FullName(name)
	return h, nil
}

// Exists reports whether the namespace called name is bind-mounted.
func (m *Manager) Exists(name string) bool { return isNS(m.Path(name)) }

func isNS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// create makes a namespace bind-mounted at path, as `ip netns add` does,
// without leaving any thread in it. It reports false if another caller
// mounted one there first: creators serialize on a lock of the mount point
// file, which stays open under the mount.
func (m *Manager) create(path string) (bool, error) {
	if err := ensureRunDir(m.runDir()); err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o444)
	if err != nil {
		return false, mapErr(err)
	}
	defer f.Close() // releases the lock
	if isNS(path) {
		return false, nil
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	if isNS(path) {
		return false, nil
	}

	errc := make(chan error, 1)
	// A fresh goroutine so that a thread that cannot switch back dies with it.
	go func() {
		runtime.LockOSThread()
		origin, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer origin.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		mErr := unix.Mount(self, path, "none", unix.MS_BIND, "")
		if err := netns.Set(origin); err != nil {
			errc <- errors.Join(mErr, fmt.Errorf("switch back: %w", err))
			return // thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- mErr
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return false, err
	}
	return true, nil
}

var runDirOnce sync.Map // dir -> struct{}: made a shared mount point once per process

// ensureRunDir makes dir a shared mount point like iproute2 does, so that
// namespace bind mounts propagate into mount namespaces created later
// (`ip netns exec` makes one per command).
func ensureRunDir(dir string) error {
	if _, done := runDirOnce.Load(dir); done {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err = unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err == nil {
			err = unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
		}
	}
	if err != nil {
		return fmt.Errorf("make %s a shared mount: %w", dir, err)
	}
	runDirOnce.Store(dir, struct{}{})
	return nil
}

// Delete removes the namespace called name; an absent namespace is not an
// error. Processes and open handles still in it keep it alive until they go.
func (m *Manager) Delete(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return deletePath(m.Path(name))
}

func deletePath(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return wrap("unmount", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return wrap("remove", path, err)
	}
	return nil
}

// List returns the names (without the node prefix) of this node's
// namespaces, sorted. With an empty prefix it lists every named namespace.
func (m *Manager) List() ([]string, error) {
	entries, err := os.ReadDir(m.runDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, m.prefix) && len(n) > len(m.prefix) {
			out = append(out, n[len(m.prefix):])
		}
	}
	sort.Strings(out)
	return out, nil
}

func mapErr(err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist), errors.Is(err, unix.ENOENT):
		return fmt.Errorf("%w: %w", errdefs.ErrNotFound, err)
	case errors.Is(err, os.ErrExist), errors.Is(err, unix.EEXIST):
		return fmt.Errorf("%w: %w", errdefs.ErrConflict, err)
	}
	return err
}
