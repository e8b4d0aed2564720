package firewall

import (
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/nl"
)

// ctFilter matches the conntrack entries of flows whose original direction
// a rule's tuple matches.
type ctFilter struct{ t *tuple }

func (f ctFilter) MatchConntrackFlow(fl *netlink.ConntrackFlow) bool {
	if f.t.proto != 0 && fl.Forward.Protocol != f.t.proto {
		return false
	}
	src, ok1 := netip.AddrFromSlice(fl.Forward.SrcIP)
	dst, ok2 := netip.AddrFromSlice(fl.Forward.DstIP)
	if !ok1 || !ok2 {
		return false
	}
	src, dst = src.Unmap(), dst.Unmap()
	if f.t.src.IsValid() && !f.t.src.Contains(src) || f.t.dst.IsValid() && !f.t.dst.Contains(dst) {
		return false
	}
	in := func(r *PortRange, p uint16) bool { return r == nil || r.Min <= p && p <= r.Max }
	return in(f.t.sport, fl.Forward.SrcPort) && in(f.t.dport, fl.Forward.DstPort)
}

// cutFlows deletes the conntrack entries of the plan's flows in the router
// namespace h belongs to: all of them for cutAll, else those matching a
// cut tuple. Deleting too much is harmless: a flow still allowed is
// picked up again from its next packet.
func cutFlows(h *netlink.Handle, p *tablePlan) (uint, error) {
	cut := p.cut
	if p.cutAll {
		cut = []*tuple{{version: 4}, {version: 6}}
	}
	var v4, v6 []netlink.CustomConntrackFilter
	for _, t := range cut {
		if t.version == 6 {
			v6 = append(v6, ctFilter{t})
		} else {
			v4 = append(v4, ctFilter{t})
		}
	}
	return nl.DeleteConntrack(h, v4, v6)
}
