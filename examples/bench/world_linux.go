package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/namespace"
)

// world is everything one bench run creates: namespaces under one prefix,
// the dnsmasq daemons the baselines start, and a scratch directory.
// cleanup removes all of it and is safe to call from a signal handler
// while a measurement runs.
type world struct {
	prefix string
	dir    string

	mu       sync.Mutex
	pidFiles []string // of dnsmasq daemons still running
	children []*os.Process
	closed   bool
}

func newWorld(prefix string) (*world, error) {
	dir, err := os.MkdirTemp("", prefix+"bench")
	if err != nil {
		return nil, err
	}
	return &world{prefix: prefix, dir: dir}, nil
}

// node is one simulated node: a namespace named <prefix>node whose
// realizers (or baseline scripts) create their namespaces under prefix.
type node struct {
	prefix string
	mgr    *namespace.Manager
	h      *namespace.Handle
}

func (n *node) path() string { return n.mgr.Path("node") }

// nodeNS names the node namespace of a (repetition, side) pair.
func (w *world) newNode(tag string) (*node, error) {
	prefix := w.prefix + tag + "-"
	mgr := namespace.NewManager(prefix)
	h, _, err := mgr.Ensure("node")
	if err != nil {
		return nil, err
	}
	n := &node{prefix: prefix, mgr: mgr, h: h}
	nlh := h.Netlink()
	lo, err := nlh.LinkByName("lo")
	if err == nil {
		err = nlh.LinkSetUp(lo)
	}
	if err != nil {
		n.close()
		return nil, err
	}
	// The physical networks' interfaces: veths whose other ends stay in
	// the node, unattached (the kernel has no dummy devices). Fixed
	// addresses make their IPv6 link-local addresses the same on every
	// node, as the state comparison wants.
	for i, dev := range []string{extIface, fipIface} {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: dev, MTU: 1500, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, byte(i), 1}},
			PeerName: dev + "-peer", PeerHardwareAddr: net.HardwareAddr{2, 0, 0, 0, byte(i), 2}}
		if err := nlh.LinkAdd(veth); err != nil {
			n.close()
			return nil, fmt.Errorf("%s: %w", dev, err)
		}
		for _, name := range []string{dev, dev + "-peer"} {
			l, err := nlh.LinkByName(name)
			if err == nil {
				err = nlh.LinkSetUp(l)
			}
			if err != nil {
				n.close()
				return nil, err
			}
		}
	}
	return n, nil
}

func (n *node) close() {
	if n.h != nil {
		n.h.Close()
	}
}

// remove deletes every namespace of the node (its own and those its
// realizers or scripts made).
func (n *node) remove() error {
	n.close()
	return deletePrefix(n.prefix)
}

func deletePrefix(prefix string) error {
	mgr := namespace.NewManager(prefix)
	names, err := mgr.List()
	if err != nil {
		return err
	}
	var errs []string
	for _, name := range names {
		if err := mgr.Delete(name); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func (w *world) addPidFile(p string) {
	w.mu.Lock()
	w.pidFiles = append(w.pidFiles, p)
	w.mu.Unlock()
}

func (w *world) addChild(p *os.Process) {
	w.mu.Lock()
	w.children = append(w.children, p)
	w.mu.Unlock()
}

// stopDaemons kills the dnsmasq daemons whose pid files are listed, each
// only if its command line still names our scratch directory.
func (w *world) stopDaemons() {
	w.mu.Lock()
	files := w.pidFiles
	w.pidFiles = nil
	w.mu.Unlock()
	for _, f := range files {
		if pid, ok := w.ourDaemon(f); ok {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// ourDaemon reads a pid file and checks that the process is a dnsmasq
// started with a file of this run's directory.
func (w *world) ourDaemon(pidFile string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || !strings.Contains(string(cmdline), "dnsmasq") || !strings.Contains(string(cmdline), w.dir) {
		return 0, false
	}
	return pid, true
}

// cleanup stops what the run started and removes every namespace carrying
// the run's prefix and the scratch directory.
func (w *world) cleanup() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	children := w.children
	w.mu.Unlock()
	for _, p := range children {
		_ = p.Kill()
	}
	w.stopDaemons()
	err := deletePrefix(w.prefix)
	os.RemoveAll(w.dir)
	return err
}

// leftovers lists namespaces of the run still present.
func (w *world) leftovers() []string {
	names, _ := namespace.NewManager(w.prefix).List()
	return names
}
