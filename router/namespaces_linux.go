package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/namespace"
)

// routerNS is an open router namespace and what is kept about it between
// passes, each piece used only while the kernel confirms it: the handle
// while it still is the namespace mounted under the name (a namespace
// deleted or replaced by hand is noticed), the NAT table while the
// namespace's nftables generation is unchanged. Keeping them saves opening
// netlink, nftables and sysctl files per router per pass, and dumping a
// NAT table of 10,000 floating IPs to change one.
type routerNS struct {
	h       *namespace.Handle
	state   *mirror
	sysctls sysctlFiles
	nat     *natCache
	// transient handles are closed after their pass: the realizer keeps at
	// most WithMaxOpenNamespaces open (see fdHeadroom).
	transient bool
}

func (n *routerNS) close() error {
	if n.state != nil {
		n.state.close()
	}
	n.sysctls.close()
	return n.h.Close()
}

// namespace returns the router namespace name, creating it unless dry (then
// a missing namespace gives nil and created true).
func (r *Realizer) namespace(name string, dry bool) (n *routerNS, created bool, err error) {
	r.hmu.Lock()
	n = r.handles[name]
	r.hmu.Unlock()
	if n != nil {
		if sameNamespace(n.h, r.mgr.Path(name)) {
			return n, false, nil
		}
		r.forget(name)
	}
	if err := fdHeadroom(); err != nil {
		return nil, false, err
	}
	var h *namespace.Handle
	if dry {
		if !r.mgr.Exists(name) {
			return nil, true, nil
		}
		h, err = r.mgr.Open(name)
	} else {
		h, created, err = r.mgr.Ensure(name)
	}
	if err != nil {
		return nil, false, err
	}
	n = &routerNS{h: h}
	// Strict checking lets the kernel filter route dumps by table and
	// protocol: a router with 10,000 floating IPs has 10,000 local routes
	// that are not ours to read.
	if err := h.Netlink().SetStrictCheck(true); err != nil {
		_ = h.Close()
		return nil, false, fmt.Errorf("netlink strict check: %w", err)
	}
	if n.state, err = newMirror(h, true); err != nil {
		_ = h.Close()
		return nil, false, err
	}
	if n.sysctls, err = openSysctls(h); err != nil {
		_ = n.close()
		return nil, false, err
	}
	r.hmu.Lock()
	if len(r.handles) < r.opt.maxOpen {
		r.handles[name] = n
	} else {
		n.transient = true
	}
	r.hmu.Unlock()
	return n, created, nil
}

// fdReserve is how far below 1024 the lowest free file descriptor must be
// before the realizer opens a namespace: the nftables library panics on a
// socket numbered 1024 or more (see highFD). Opening a namespace takes five
// low descriptors (the namespace, three netlink sockets, an nftables socket;
// what the realizer itself keeps goes above highFD), and up to WithWorkers
// routers open at once.
const fdReserve = 64

func fdHeadroom() error {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("probe file descriptors: %w", err)
	}
	_ = unix.Close(fd)
	if fd >= 1024-fdReserve {
		return errdefs.Exhausted("", "the process has %d file descriptors open: the nftables library cannot use descriptors above 1023 (google/nftables#352)", fd)
	}
	return nil
}

func (r *Realizer) forget(name string) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	if n := r.handles[name]; n != nil {
		_ = n.close()
		delete(r.handles, name)
	}
}

// sameNamespace reports whether h is the namespace mounted at path.
func sameNamespace(h *namespace.Handle, path string) bool {
	var a, b unix.Stat_t
	if unix.Stat(path, &a) != nil || unix.Fstat(h.Fd(), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

// collect removes the router namespaces of this node that no desired router
// wants. A namespace is removed only if it holds nothing but loopback and
// devices of ours: one with foreign devices (Neutron's own L3 agent on the
// same node, say) is left alone.
func (r *Realizer) collect(ctx context.Context, specs []*routerSpec, dry bool) (*Report, error) {
	rep := &Report{}
	names, err := r.mgr.List()
	if err != nil {
		return rep, fmt.Errorf("list namespaces: %w", err)
	}
	want := make(map[string]bool, len(specs))
	for _, s := range specs {
		want[s.Namespace] = true
	}
	var errs []error
	for _, name := range names {
		if !strings.HasPrefix(name, naming.NSRouter) || want[name] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := r.removeRouter(name, rep, dry); err != nil {
			errs = append(errs, fmt.Errorf("router %s: remove: %w", strings.TrimPrefix(name, naming.NSRouter), err))
		}
	}
	return rep, errors.Join(errs...)
}

// removeRouter deletes our devices in the namespace (each takes its host
// end with it at once, rather than when the kernel gets round to tearing
// the namespace down) and then the namespace.
func (r *Realizer) removeRouter(name string, rep *Report, dry bool) error {
	full := r.mgr.FullName(name)
	n, _, err := r.namespace(name, true)
	if err != nil {
		return err
	}
	if n == nil {
		// The name is no mount point: the file a crash inside namespace
		// creation leaves. Nothing lives in it; remove the file.
		if !dry {
			if err := r.mgr.Delete(name); err != nil {
				return err
			}
		}
		report.AddN(rep, remove.String(), "namespace", 1, full+" (unmounted)")
		return nil
	}
	h := n.h
	links, err := dumpLinks(h.Netlink())
	if err != nil {
		return err
	}
	var ourLinks []string
	for _, n := range sortedKeys(links) {
		if n == "lo" {
			continue
		}
		if _, ok := ours(links[n]); !ok {
			r.opt.log.Warn("leaving router namespace with foreign devices", "namespace", full, "device", n)
			return nil
		}
		ourLinks = append(ourLinks, n)
	}
	r.withdrawRouterRA(h, full, links, rep, dry)
	for _, n := range ourLinks {
		if !dry {
			if err := nl.IgnoreNotFound(h.Netlink().LinkDel(links[n])); err != nil {
				return err
			}
		}
		report.AddN(rep, remove.String(), "link", 1, n+" in "+full)
	}
	if !dry {
		r.forget(name)
		if err := r.mgr.Delete(name); err != nil {
			return err
		}
		r.opt.log.Info("router removed", "namespace", full)
	}
	report.AddN(rep, remove.String(), "namespace", 1, full)
	return nil
}
