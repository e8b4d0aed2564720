package router

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nl"
)

// cleanConntrack deletes the flows of addresses the router stopped
// translating or holding (removed or moved floating IPs, removed gateway
// addresses), as Neutron's delete_addr_and_conntrack_state does with
// `conntrack -D -d ip` and `conntrack -D -q ip`: flows to the address, and
// flows translated to it. Without this an established flow keeps reaching
// a floating IP's old port. The kernel walks its whole conntrack hash for
// this (milliseconds, however few flows there are), so it runs in the
// background, after the NAT no longer leads to the old port.
//
// Flows from and to a subnet that changed address scope are deleted the same
// way (conntrackNets): a flow admitted, or left untranslated, under the old
// scope must not outlive it.
func (rr *routerRun) cleanConntrack() []change {
	if len(rr.conntrack)+len(rr.conntrackNets) == 0 {
		return nil
	}
	addrs := slices.Clone(rr.conntrack)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	nets := slices.Clone(rr.conntrackNets)
	sortPrefixes(nets)
	nets = slices.Compact(nets)
	names := make([]string, 0, len(addrs)+len(nets))
	for _, a := range addrs {
		names = append(names, a.String())
	}
	for _, p := range nets {
		names = append(names, p.String())
	}
	return []change{{remove, "conntrack", len(names), rr.in("flows of " + strings.Join(names, ", ")), func() error {
		h, log, where := rr.ns.Netlink(), rr.r.opt.log, rr.where
		clean := func() error {
			n, err := deleteFlows(h, addrs)
			if err == nil && len(nets) > 0 {
				var m uint
				m, err = deleteSubnetFlows(h, nets)
				n += m
			}
			if err != nil {
				return err
			}
			log.Debug("conntrack flows deleted", "namespace", where, "addresses", names, "flows", n)
			return nil
		}
		if rr.rns.transient {
			return clean() // the handle closes with this pass
		}
		rr.r.bg.run(func() {
			if err := clean(); err != nil {
				log.Warn("conntrack cleanup failed", "namespace", where, "addresses", names, "err", err)
			}
		})
		return nil
	}}}
}

func deleteFlows(h *netlink.Handle, addrs []netip.Addr) (uint, error) {
	var filters []netlink.CustomConntrackFilter
	for _, a := range addrs {
		for _, t := range []netlink.ConntrackFilterType{netlink.ConntrackOrigDstIP, netlink.ConntrackReplyDstIP} {
			f := &netlink.ConntrackFilter{}
			if err := f.AddIP(t, a.AsSlice()); err != nil {
				return 0, err
			}
			filters = append(filters, f)
		}
	}
	return h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, filters...)
}

// deleteSubnetFlows deletes the flows whose original source or destination
// is in one of the subnets: those its instances opened, and those opened to
// them.
func deleteSubnetFlows(h *netlink.Handle, nets []netip.Prefix) (uint, error) {
	var byFam [2][]netlink.CustomConntrackFilter
	for _, p := range nets {
		for _, t := range []netlink.ConntrackFilterType{netlink.ConntrackOrigSrcIP, netlink.ConntrackOrigDstIP} {
			f := &netlink.ConntrackFilter{}
			if err := f.AddIPNet(t, ipNet(p.Masked())); err != nil {
				return 0, err
			}
			fam := familyOf(p.Addr())
			byFam[fam] = append(byFam[fam], f)
		}
	}
	return nl.DeleteConntrack(h, byFam[famV4], byFam[famV6])
}
