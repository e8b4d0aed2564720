package router

import (
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/nl"
)

// diffAddrs plans each router device's addresses: the port's fixed IPs
// (and, on the gateway, the floating IPs as /32). Stale addresses go first,
// so that an address changing prefix length is not refused as a duplicate.
// Kernel-made IPv6 link-local addresses are left alone.
func (rr *routerRun) diffAddrs(fresh map[string]bool) []change {
	var cs []change
	for _, ifc := range rr.spec.Ifaces {
		var have map[netip.Prefix]bool
		if !fresh[ifc.Name] {
			have = rr.obs.addrs[rr.idx[ifc.Name]]
		}
		// Count the wanted addresses the interface has: when that is all it
		// has, nothing is stale, and a gateway with 10,000 floating IPs is
		// checked without a set built or searched per pass.
		kept := 0
		for _, p := range ifc.Addrs {
			if have[p] {
				kept++
			}
		}
		var stale []netip.Prefix
		if kept < len(have) {
			for p := range have {
				if _, ok := slices.BinarySearchFunc(ifc.Addrs, p, comparePrefix); !ok {
					stale = append(stale, p)
				}
			}
		}
		slices.SortFunc(stale, comparePrefix)
		for _, p := range stale {
			if ifc.Gateway && p.Addr().Is4() && !ifc.holds(p.Addr()) {
				rr.conntrack = append(rr.conntrack, p.Addr())
			}
			cs = append(cs, change{remove, "address", 1, rr.in(p.String() + " on " + ifc.Name), func() error {
				return nl.IgnoreNotFound(rr.ns.Netlink().AddrDel(rr.link(ifc.Name), nl.Addr(p)))
			}})
		}
		for _, p := range ifc.Addrs {
			if have[p] {
				continue
			}
			if ifc.Up {
				rr.garp[ifc.Name] = append(rr.garp[ifc.Name], p.Addr())
			}
			cs = append(cs, change{create, "address", 1, rr.in(p.String() + " on " + ifc.Name), func() error {
				return nl.Err(rr.ns.Netlink().AddrReplace(rr.link(ifc.Name), nl.Addr(p)))
			}})
		}
	}
	return cs
}

// link names a router-namespace device by the index seen or created.
func (rr *routerRun) link(name string) netlink.Link {
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Name: name, Index: rr.idx[name]}}
}
