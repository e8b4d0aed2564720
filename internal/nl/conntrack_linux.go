package nl

import (
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DeleteConntrack deletes the conntrack entries any filter matches, with one
// walk of the table per address family that has filters (a walk costs the
// whole table, so filters are batched rather than walked one by one), and
// returns how many it deleted.
func DeleteConntrack(h *netlink.Handle, v4, v6 []netlink.CustomConntrackFilter) (uint, error) {
	var total uint
	for _, x := range []struct {
		fam     netlink.InetFamily
		filters []netlink.CustomConntrackFilter
	}{{unix.AF_INET, v4}, {unix.AF_INET6, v6}} {
		if len(x.filters) == 0 {
			continue
		}
		n, err := h.ConntrackDeleteFilters(netlink.ConntrackTable, x.fam, x.filters...)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
