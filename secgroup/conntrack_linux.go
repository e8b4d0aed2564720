package secgroup

import (
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/nl"
)

// ctFilter matches the conntrack entries of one cleanup: in the port's
// zone, with the port's address as original destination (connections it
// accepted: ingress) or original source (connections it opened: egress),
// and, for a shrunken remote set, the other end in a removed range.
type ctFilter struct{ c cleanup }

func (f ctFilter) MatchConntrackFlow(fl *netlink.ConntrackFlow) bool {
	if fl.Zone != f.c.port.zone {
		return false
	}
	src, ok1 := netip.AddrFromSlice(fl.Forward.SrcIP)
	dst, ok2 := netip.AddrFromSlice(fl.Forward.DstIP)
	if !ok1 || !ok2 {
		return false
	}
	src, dst = src.Unmap(), dst.Unmap()
	return f.c.ingress && f.local(dst) && f.remote(src) || f.c.egress && f.local(src) && f.remote(dst)
}

func (f ctFilter) local(a netip.Addr) bool {
	for _, p := range f.c.port.addrs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (f ctFilter) remote(a netip.Addr) bool {
	if f.c.remote == nil {
		return true
	}
	for _, e := range f.c.remote {
		if e.contains(a) {
			return true
		}
	}
	return false
}

// clearConntrack deletes the entries of the cleanups, one table walk per
// address family, and returns how many it deleted. Neutron does the same
// with conntrack -D per port address and zone (NEUTRON.md §4.7).
func clearConntrack(h *netlink.Handle, cs []cleanup) (uint, error) {
	var v4, v6 []netlink.CustomConntrackFilter
	for _, c := range cs {
		has4, has6 := false, false
		for _, p := range c.port.addrs {
			has4 = has4 || p.Addr().Is4()
			has6 = has6 || p.Addr().Is6()
		}
		if has4 {
			v4 = append(v4, ctFilter{c})
		}
		if has6 {
			v6 = append(v6, ctFilter{c})
		}
	}
	return nl.DeleteConntrack(h, v4, v6)
}
