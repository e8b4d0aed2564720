package router

import (
	"fmt"
	"strings"
	"sync"

	"github.com/neutrino-net/neutrino/internal/ra"
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
		cs = append(cs, change{v, "ra", 1, rr.in("ra on " + ifc.Name + " " + describeRA(l)), func() error {
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
		cs = append(cs, change{remove, "ra", 1, rr.in("ra on " + name), func() error {
			rr.r.withdrawRA(srv, rr.where, name)
			return nil
		}})
	}
	return cs
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
// that goes, before its devices are deleted.
func (r *Realizer) withdrawRouterRA(full string, rep *Report, dry bool) {
	srv, _ := r.raServer(false)
	if srv == nil {
		return
	}
	for _, name := range sortedKeys(srv.Links(full)) {
		if !dry {
			r.withdrawRA(srv, full, name)
		}
		rep.AddN(remove.String(), "ra", 1, "ra on "+name+" in "+full)
	}
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
