package router

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/ra"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/namespace"
)

// raServer is the realizer's router advertisement server, started with the
// first router that advertises: one socket per advertising interface, all
// in this process (Neutron runs a radvd per router).
type raServer struct {
	mu  sync.Mutex
	srv *ra.Server
}

// server returns the running server, starting it unless create is false
// (then nil when none runs).
func (r *Realizer) raServer(create bool) (*ra.Server, error) {
	s := &r.ra
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil || !create {
		return s.srv, nil
	}
	t := r.opt.ra.timing
	if t == (ra.Timing{}) {
		t = ra.DefaultTiming()
	}
	srv, err := ra.NewServer(ra.WithTiming(t), ra.WithLogger(r.opt.log))
	if err != nil {
		return nil, err
	}
	s.srv = srv
	return srv, nil
}

// close stops every advertisement without final RAs (see ra.Server.Close):
// a restarting agent must not cut hosts off their default route.
func (s *raServer) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}

// diffRA plans the router's IPv6 neighbour discovery settings: accept_ra
// on the gateway, then the advertisements of its interfaces. It runs after
// addresses and routes and before stale links go, so that an interface
// that goes sends its final RA (router lifetime 0) while it still exists.
func (rr *routerRun) diffRA() []change {
	cs := rr.diffAcceptRA()
	if rr.r.opt.ra.off {
		return cs
	}
	var have map[string]ra.Status
	srv, err := rr.r.raServer(false)
	if err == nil && srv != nil {
		have = srv.Links(rr.where)
	}
	want := map[string]bool{}
	for _, ifc := range rr.spec.Ifaces {
		if ifc.RA == nil {
			continue
		}
		want[ifc.Name] = true
		l := *ifc.RA
		if l.Domain == "" {
			l.Domain = rr.r.raDomain()
		}
		h, ok := have[ifc.Name]
		if idx, known := rr.idx[ifc.Name]; ok && known && h.Index == idx && h.Link.Equal(l) {
			continue
		}
		v := create
		if ok {
			v = update
		}
		cs = append(cs, change{v, "ra", 1, rr.in(ifc.Name + " " + describeRA(l)), func() error {
			srv, err := rr.r.raServer(true)
			if err != nil {
				return err
			}
			return srv.Advertise(rr.ns, rr.where, ifc.Name, rr.idx[ifc.Name], l)
		}})
	}
	for _, name := range sortedKeys(have) {
		if want[name] {
			continue
		}
		cs = append(cs, change{remove, "ra", 1, rr.in(name), func() error {
			rr.r.withdrawRA(srv, rr.where, name)
			return nil
		}})
	}
	// Interfaces that go and that this process never advertised on (it
	// restarted since): a bare final RA from each that carries IPv6
	// addresses, so that hosts using it drop their default route now.
	devs := map[string]bool{}
	for _, ifc := range rr.spec.Ifaces {
		devs[ifc.Name] = true
	}
	for _, name := range sortedKeys(rr.obs.links) {
		l := rr.obs.links[name]
		if _, known := have[name]; known || devs[name] || !rr.r.mayHaveAdvertised(l, rr.obs.addrs[l.Attrs().Index]) {
			continue
		}
		cs = append(cs, change{remove, "ra", 1, rr.in(name + " (final only)"), func() error {
			rr.r.goodbyeRA(rr.ns, rr.where, l)
			return nil
		}})
	}
	return cs
}

// mayHaveAdvertised reports whether l is an interface of ours that may
// have sent router advertisements: a qr- device with an IPv6 address.
func (r *Realizer) mayHaveAdvertised(l netlink.Link, addrs map[netip.Prefix]bool) bool {
	if _, ok := ours(l); !ok || r.opt.ra.off || !strings.HasPrefix(l.Attrs().Name, naming.PrefixRouterIf) {
		return false
	}
	for p := range addrs {
		if p.Addr().Is6() && !p.Addr().IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

// goodbyeRA sends the final RAs of an interface the server does not know.
func (r *Realizer) goodbyeRA(ns *namespace.Handle, where string, l netlink.Link) {
	srv, err := r.raServer(true)
	if err == nil {
		mac := l.Attrs().HardwareAddr
		src, _ := ipam.SLAAC(linkLocalPrefix, mac)
		err = srv.Goodbye(ns, l.Attrs().Name, mac, src)
	}
	if err != nil {
		r.opt.log.Warn("final router advertisement not sent", "namespace", where, "interface", l.Attrs().Name, "err", err)
	}
}

// withdrawRA sends an interface's final RAs. Failing to send them (the
// device deleted by hand, say) does not fail the pass: hosts then keep the
// route until its lifetime ends, as with a router that crashed.
func (r *Realizer) withdrawRA(srv *ra.Server, group, name string) {
	if err := srv.Withdraw(group, name); err != nil {
		r.opt.log.Warn("final router advertisement not sent", "namespace", group, "interface", name, "err", err)
	}
}

// withdrawRouterRA plans (and, unless dry, sends) the final RAs of a router
// that goes, before its devices (links, by name) are deleted: of the
// interfaces the server advertises on, and of those it does not know that
// may have advertised before the process restarted.
func (r *Realizer) withdrawRouterRA(h *namespace.Handle, full string, links map[string]netlink.Link, rep *Report, dry bool) {
	var known map[string]ra.Status
	srv, _ := r.raServer(false)
	if srv != nil {
		known = srv.Links(full)
	}
	for _, name := range sortedKeys(known) {
		if !dry {
			r.withdrawRA(srv, full, name)
		}
		report.AddN(rep, remove.String(), "ra", 1, name+" in "+full)
	}
	for _, name := range sortedKeys(links) {
		l := links[name]
		if _, ok := known[name]; ok || !strings.HasPrefix(name, naming.PrefixRouterIf) || r.opt.ra.off {
			continue
		}
		addrs, err := nl.Dump(func() ([]netlink.Addr, error) { return h.Netlink().AddrList(l, netlink.FAMILY_V6) })
		if err != nil {
			continue
		}
		set := make(map[netip.Prefix]bool, len(addrs))
		for _, a := range addrs {
			if p, ok := netipPrefix(a.IPNet); ok {
				set[p] = true
			}
		}
		if !r.mayHaveAdvertised(l, set) {
			continue
		}
		if !dry {
			r.goodbyeRA(h, full, l)
		}
		report.AddN(rep, remove.String(), "ra", 1, name+" (final only) in "+full)
	}
}

func netipPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), ok
}

func (r *Realizer) raDomain() string {
	if r.opt.ra.domain != "" {
		return r.opt.ra.domain
	}
	return DefaultDNSDomain
}

func describeRA(l ra.Link) string {
	parts := make([]string, len(l.Prefixes))
	for i, p := range l.Prefixes {
		parts[i] = fmt.Sprintf("%s %s", p.CIDR, p.Mode)
	}
	return strings.Join(parts, ", ")
}

// diffAcceptRA plans accept_ra on a gateway with IPv6 addresses (see
// gatewayAcceptRA) and, where it learns from upstream RAs, autoconf off:
// the gateway's address is its fixed IP, and an address the kernel formed
// from the upstream prefix would be one the realizer does not want.
func (rr *routerRun) diffAcceptRA() []change {
	var cs []change
	for _, ifc := range rr.spec.Ifaces {
		if ifc.AcceptRA == "" {
			continue
		}
		set := [][2]string{{"accept_ra", ifc.AcceptRA}}
		if ifc.AcceptRA == "2" {
			set = append(set, [2]string{"autoconf", "0"})
		}
		for _, kv := range set {
			key, val := "net.ipv6.conf."+ifc.Name+"."+kv[0], kv[1]
			if _, exists := rr.idx[ifc.Name]; exists && rr.ns != nil {
				if have, err := rr.ns.ReadSysctl(key); err == nil && have == val {
					continue
				}
			}
			cs = append(cs, change{update, "sysctl", 1, rr.in(key + "=" + val), func() error {
				return rr.ns.Sysctl(key, val)
			}})
		}
	}
	return cs
}
