package router

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// cleanConntrack deletes the flows of addresses the router stopped
// translating or holding (removed or moved floating IPs, removed gateway
// addresses), as Neutron's delete_addr_and_conntrack_state does with
// `conntrack -D -d ip` and `conntrack -D -q ip`: flows to the address, and
// flows translated to it. Without this an established flow keeps reaching
// a floating IP's old port. The kernel walks its whole conntrack hash for
// this (milliseconds, however few flows there are), so it runs in the
// background, after the NAT no longer leads to the old port.
func (rr *routerRun) cleanConntrack() []change {
	if len(rr.conntrack) == 0 {
		return nil
	}
	addrs := slices.Clone(rr.conntrack)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	names := make([]string, len(addrs))
	for i, a := range addrs {
		names[i] = a.String()
	}
	return []change{{remove, "conntrack", len(addrs), rr.in("flows of " + strings.Join(names, ", ")), func() error {
		h, log, where := rr.ns.Netlink(), rr.r.opt.log, rr.where
		clean := func() error {
			n, err := deleteFlows(h, addrs)
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
