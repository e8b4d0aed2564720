package router

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nft"
	"github.com/neutrino-net/neutrino/internal/nl"
)

// observed is what a router namespace holds, read with one dump per kind.
type observed struct {
	links  map[string]netlink.Link
	addrs  map[int]map[netip.Prefix]bool // by link index; IPv6 link-local left out
	routes map[netip.Prefix]netlink.Route
	sysctl map[string]string // absent keys: the kernel has no such sysctl
	nat    *natState
}

// observe reads the namespace back. A namespace created by this pass holds
// nothing but a loopback device that is down (planned up as if missing), so
// only what the kernel chooses for a new namespace (sysctls) and the
// nftables generation are read.
func (n *routerNS) observe(created bool) (*observed, error) {
	h := n.h.Netlink()
	o := &observed{}
	var err error
	if created {
		if o.sysctl, err = n.sysctls.read(); err != nil {
			return nil, fmt.Errorf("sysctls: %w", err)
		}
		c, err := n.h.NFT()
		if err != nil {
			return nil, err
		}
		g, err := c.GetGen()
		if err != nil {
			return nil, fmt.Errorf("nftables: %w", nft.Err(err))
		}
		o.nat = &natState{gen: g.ID}
		// The mirror's notifications of the namespace's birth (lo) may
		// still be queued; the next pass applies them.
		n.state.reset(map[string]netlink.Link{}, nil)
		o.links, o.addrs, o.routes = n.state.links, n.state.addrs, map[netip.Prefix]netlink.Route{}
		return o, nil
	}
	if err := n.state.sync(h, true); err != nil {
		return nil, fmt.Errorf("links and addresses: %w", err)
	}
	o.links, o.addrs = n.state.links, n.state.addrs
	if o.routes, err = dumpRoutes(h); err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	if o.sysctl, err = n.sysctls.read(); err != nil {
		return nil, fmt.Errorf("sysctls: %w", err)
	}
	if o.nat, err = n.readNAT(); err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return o, nil
}

// dumpRoutes returns the routes carrying our rtm_protocol in the main table.
func dumpRoutes(h *netlink.Handle) (map[netip.Prefix]netlink.Route, error) {
	filter := &netlink.Route{Protocol: nl.RouteProtocol, Table: unix.RT_TABLE_MAIN}
	routes, err := nl.Dump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Prefix]netlink.Route, len(routes))
	for _, r := range routes {
		out[routeDst(r)] = r
	}
	return out, nil
}

// routeDst is a route's destination; netlink leaves Dst nil for default
// routes.
func routeDst(r netlink.Route) netip.Prefix {
	if p, ok := prefixOf(r.Dst); ok {
		return p
	}
	if r.Family == unix.AF_INET6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
