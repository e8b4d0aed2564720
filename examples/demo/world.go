package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/namespace"
)

// world is the demo's throwaway lab: namespaces under one per-run prefix
// and the processes started in them. teardown removes all of it.
type world struct {
	prefix string
	mgr    *namespace.Manager
	dir    string

	mu    sync.Mutex
	ns    map[string]*namespace.Handle
	procs []*exec.Cmd
	lns   []net.Listener
}

func newWorld(prefix string) (*world, error) {
	dir, err := os.MkdirTemp("", prefix+"demo")
	if err != nil {
		return nil, err
	}
	return &world{prefix: prefix, mgr: namespace.NewManager(prefix), dir: dir, ns: map[string]*namespace.Handle{}}, nil
}

// namespace creates (or opens) the namespace called name, with lo up.
func (w *world) namespace(name string) (*namespace.Handle, error) {
	h, _, err := w.mgr.Ensure(name)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.ns[name] = h
	w.mu.Unlock()
	lo, err := h.Netlink().LinkByName("lo")
	if err != nil {
		return nil, err
	}
	return h, h.Netlink().LinkSetUp(lo)
}

func (w *world) path(name string) string { return w.mgr.Path(name) }

// link joins a and b with a veth pair; an invalid prefix means no address.
func link(a *namespace.Handle, aName string, aAddr netip.Prefix, b *namespace.Handle, bName string, bAddr netip.Prefix) error {
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: aName}, PeerName: bName, PeerNamespace: netlink.NsFd(b.Fd())}
	if err := a.Netlink().LinkAdd(veth); err != nil {
		return fmt.Errorf("veth %s-%s: %w", aName, bName, err)
	}
	for _, end := range []struct {
		h    *namespace.Handle
		name string
		addr netip.Prefix
	}{{a, aName, aAddr}, {b, bName, bAddr}} {
		l, err := end.h.Netlink().LinkByName(end.name)
		if err != nil {
			return err
		}
		if end.addr.IsValid() {
			ipn := &net.IPNet{IP: end.addr.Addr().AsSlice(), Mask: net.CIDRMask(end.addr.Bits(), end.addr.Addr().BitLen())}
			if err := end.h.Netlink().AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil {
				return err
			}
		}
		if err := end.h.Netlink().LinkSetUp(l); err != nil {
			return err
		}
	}
	return nil
}

// command runs argv inside the namespace called name (`ip netns exec`; the
// demo runs only third-party programs this way: clients and peers).
func (w *world) command(ctx context.Context, name string, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", w.mgr.FullName(name)}, argv...)...)
}

func (w *world) run(name string, timeout time.Duration, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := w.command(ctx, name, argv...).CombinedOutput()
	return string(out), err
}

// start starts a background process; teardown stops it by PID.
func (w *world) start(cmd *exec.Cmd) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &buf
	}
	if cmd.Stderr == nil {
		cmd.Stderr = &buf
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.procs = append(w.procs, cmd)
	w.mu.Unlock()
	return &buf, nil
}

// listen opens a TCP listener inside the namespace called name; the socket
// stays there, and its goroutines may run anywhere.
func (w *world) listen(name, addr string, serve func(net.Conn)) error {
	h := w.ns[name]
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		return fmt.Errorf("listen %s in %s: %w", addr, name, err)
	}
	w.mu.Lock()
	w.lns = append(w.lns, ln)
	w.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				serve(c)
			}()
		}
	}()
	return nil
}

// dial connects from inside the namespace called name and returns the
// first line the server sends.
func (w *world) dial(name, addr string, timeout time.Duration) (string, error) {
	var line string
	err := w.ns[name].Do(func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(timeout))
		buf := make([]byte, 256)
		n, err := c.Read(buf)
		line = string(bytes.TrimSpace(buf[:n]))
		return err
	})
	return line, err
}

// stop sends SIGTERM to a process group, then SIGKILL after two seconds.
func stop(cmd *exec.Cmd) {
	if cmd.Process == nil {
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

// teardown stops every process, closes the listeners and removes every
// namespace carrying the prefix — including the router and DHCP namespaces
// the agent made, since it ran with the same node prefix.
func (w *world) teardown(keepNamespaces bool) error {
	w.mu.Lock()
	procs, lns, handles := w.procs, w.lns, w.ns
	w.procs, w.lns, w.ns = nil, nil, map[string]*namespace.Handle{}
	w.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		stop(procs[i])
	}
	for _, ln := range lns {
		ln.Close()
	}
	for _, h := range handles {
		h.Close()
	}
	os.RemoveAll(w.dir)
	if keepNamespaces {
		return nil
	}
	return destroyPrefix(w.prefix)
}

// destroyPrefix removes every named namespace starting with prefix.
func destroyPrefix(prefix string) error {
	mgr := namespace.NewManager(prefix)
	names, err := mgr.List()
	if err != nil {
		return err
	}
	var first error
	for _, n := range names {
		if err := mgr.Delete(n); err != nil && first == nil {
			first = err
		}
	}
	return first
}
