package router

import (
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nl"
)

// diffRoutes plans the router's default routes and extra routes, all in the
// main table with our rtm_protocol; routes of ours no longer wanted go.
func (rr *routerRun) diffRoutes() []change {
	var cs []change
	want := map[netip.Prefix]bool{}
	for _, rt := range rr.spec.Routes {
		want[rt.Dst] = true
		have, ok := rr.obs.routes[rt.Dst]
		if ok && rr.sameRoute(have, rt) {
			continue
		}
		v := create
		if ok {
			v = update
		}
		cs = append(cs, change{v, "route", 1, rr.in(describeRoute(rt)), func() error {
			return nl.Err(rr.ns.Netlink().RouteReplace(rr.nlRoute(rt)))
		}})
	}
	for _, dst := range slices.SortedFunc(maps.Keys(rr.obs.routes), comparePrefix) {
		if want[dst] {
			continue
		}
		have := rr.obs.routes[dst]
		cs = append(cs, change{remove, "route", 1, rr.in(dst.String()), func() error {
			return nl.IgnoreNotFound(rr.ns.Netlink().RouteDel(&have))
		}})
	}
	return cs
}

func describeRoute(rt routeSpec) string {
	var b strings.Builder
	b.WriteString(rt.Dst.String())
	for _, v := range rt.Via {
		b.WriteString(" via " + v.String())
	}
	if rt.Dev != "" {
		b.WriteString(" dev " + rt.Dev)
	}
	return b.String()
}

func (rr *routerRun) sameRoute(have netlink.Route, want routeSpec) bool {
	var gws []netip.Addr
	if len(have.MultiPath) > 0 {
		for _, nh := range have.MultiPath {
			gws = append(gws, addrOf(nh.Gw))
		}
	} else {
		gws = append(gws, addrOf(have.Gw))
	}
	slices.SortFunc(gws, netip.Addr.Compare)
	if !slices.Equal(gws, want.Via) {
		return false
	}
	if want.Dev != "" {
		idx, ok := rr.idx[want.Dev]
		return ok && have.LinkIndex == idx
	}
	return true
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func (rr *routerRun) nlRoute(rt routeSpec) *netlink.Route {
	r := &netlink.Route{Dst: ipNet(rt.Dst), Protocol: nl.RouteProtocol, Table: unix.RT_TABLE_MAIN}
	if len(rt.Via) == 1 {
		r.Gw = rt.Via[0].AsSlice()
		if rt.Dev != "" {
			r.LinkIndex = rr.idx[rt.Dev]
		}
		return r
	}
	for _, v := range rt.Via {
		r.MultiPath = append(r.MultiPath, &netlink.NexthopInfo{Gw: v.AsSlice()})
	}
	return r
}
