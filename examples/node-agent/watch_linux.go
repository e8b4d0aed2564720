package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/router"
)

// The kernel's notification groups the agent listens to: links,
// neighbours (FDB included), IPv4/IPv6 addresses and routes, and nftables.
const (
	rtGroups = unix.RTMGRP_LINK | unix.RTMGRP_NEIGH | unix.RTMGRP_IPV4_IFADDR |
		unix.RTMGRP_IPV4_ROUTE | unix.RTMGRP_IPV6_IFADDR | unix.RTMGRP_IPV6_ROUTE
	// highFD: the listeners' descriptors are moved above it, because the
	// nftables library waits on its sockets with select(2), which fails for
	// descriptors from 1024 on; a watcher per router must not push the
	// realizers' sockets there.
	highFD = 4096
)

// watchNamespace sends triggerKernel whenever something the realizers own
// may have changed in h, until ctx ends. It needs no parsing: two netlink
// sockets, subscribed to rtnetlink's and nftables' groups, only say that
// something changed. The agent's own Apply causes events too; the run loop
// drains them after each Apply, and a resync that finds nothing ends the echo.
func watchNamespace(ctx context.Context, h *namespace.Handle, log *slog.Logger, out chan<- trigger) error {
	var files []*os.File
	for _, s := range []struct {
		proto  int
		groups uint32
		join   int
	}{{unix.NETLINK_ROUTE, rtGroups, 0}, {unix.NETLINK_NETFILTER, 0, unix.NFNLGRP_NFTABLES}} {
		f, err := listener(h, s.proto, s.groups, s.join)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return err
		}
		files = append(files, f)
	}
	for _, f := range files {
		go func() {
			buf := make([]byte, 64<<10)
			for {
				_, err := f.Read(buf)
				switch {
				case err == nil, errors.Is(err, unix.ENOBUFS): // lost events still mean "changed"
					send(out, triggerKernel)
				case ctx.Err() != nil || errors.Is(err, os.ErrClosed):
					return
				default:
					log.Warn("kernel notifications stopped; relying on the resync interval", "netns", h.Path(), "err", err)
					return
				}
			}
		}()
	}
	go func() {
		<-ctx.Done()
		for _, f := range files {
			f.Close()
		}
	}()
	return nil
}

// listener opens a netlink socket inside h subscribed to groups (a bitmask)
// and join (one group number), non-blocking so that Go's poller serves it.
func listener(h *namespace.Handle, proto int, groups uint32, join int) (*os.File, error) {
	var fd int
	err := h.Do(func() error {
		s, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			return err
		}
		fd = s
		if err := unix.Bind(s, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
			return err
		}
		if join != 0 {
			return unix.SetsockoptInt(s, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, join)
		}
		return nil
	})
	if err != nil {
		if fd > 0 {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("notifications in %s: %w", h.Path(), err)
	}
	hi, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, highFD)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("notifications in %s: %w", h.Path(), err)
	}
	if err := unix.SetNonblock(hi, true); err != nil {
		unix.Close(hi)
		return nil, err
	}
	return os.NewFile(uintptr(hi), "netlink"), nil
}

// watchKernel watches the node's namespace.
func watchKernel(ctx context.Context, host *namespace.Handle, log *slog.Logger, out chan<- trigger) {
	if err := watchNamespace(ctx, host, log, out); err != nil {
		log.Warn("no kernel notifications; relying on the resync interval", "err", err)
	}
}

// ownedWatch keeps a watcher on each router and DHCP namespace of the
// node, so that drift inside them is repaired as fast as in the node's own.
type ownedWatch struct {
	mgr *namespace.Manager
	log *slog.Logger
	out chan<- trigger

	mu     sync.Mutex
	cancel map[string]context.CancelFunc
}

func newOwnedWatch(prefix string, log *slog.Logger, out chan<- trigger) *ownedWatch {
	return &ownedWatch{mgr: namespace.NewManager(prefix), log: log, out: out, cancel: map[string]context.CancelFunc{}}
}

// refresh starts watchers for new namespaces and stops those of namespaces
// that are gone (the listener would keep a deleted namespace alive).
func (w *ownedWatch) refresh(ctx context.Context) {
	names, err := w.mgr.List()
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	present := map[string]bool{}
	for _, n := range names {
		if !strings.HasPrefix(n, router.NamespacePrefix) && !strings.HasPrefix(n, dhcp.NamespacePrefix) {
			continue
		}
		present[n] = true
		if w.cancel[n] != nil {
			continue
		}
		h, err := w.mgr.Open(n)
		if err != nil {
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		err = watchNamespace(wctx, h, w.log, w.out)
		h.Close() // the listeners hold the namespace themselves
		if err != nil {
			cancel()
			w.log.Debug("no notifications from namespace", "netns", n, "err", err)
			continue
		}
		w.cancel[n] = cancel
	}
	for n, cancel := range w.cancel {
		if !present[n] {
			cancel()
			delete(w.cancel, n)
		}
	}
}

// stop ends every watcher.
func (w *ownedWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for n, cancel := range w.cancel {
		cancel()
		delete(w.cancel, n)
	}
}
