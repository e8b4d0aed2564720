package neutrino

import (
	"fmt"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

// trunks checks trunk parents' sub-ports (they exist, are trunk:subport
// ports, on the parent's host) and that each trunk of the trunks
// collection agrees with its parent's trunk_details.
func (v *validator) trunks() {
	for i := range v.t.Ports {
		p := &v.t.Ports[i]
		if p.TrunkDetails == nil {
			continue
		}
		o := obj{"ports", i, "port", p.ID}
		for k, s := range p.TrunkDetails.SubPorts {
			path := fmt.Sprintf("trunk_details.sub_ports[%d].port_id", k)
			sub := v.x.Port(s.PortID)
			switch {
			case s.PortID == "":
			case sub == nil:
				v.report(o, errdefs.NotFound(path, "port %s does not exist", s.PortID))
			case sub.DeviceOwner != port.OwnerTrunkSubport:
				v.report(o, errdefs.Invalid(path, "port %s has device_owner %q, not %s", s.PortID, sub.DeviceOwner, port.OwnerTrunkSubport))
			case sub.HostID != p.HostID:
				v.report(o, errdefs.Conflict(path, "port %s is bound to %q, its parent to %q", s.PortID, sub.HostID, p.HostID))
			}
		}
	}
	for i := range v.t.Trunks {
		tr := &v.t.Trunks[i]
		o := obj{"trunks", i, "trunk", tr.ID}
		if err := tr.Validate(); err != nil {
			v.report(o, err)
			continue
		}
		p := v.x.Port(tr.PortID)
		if p == nil {
			v.report(o, errdefs.NotFound("port_id", "port %s does not exist", tr.PortID))
			continue
		}
		var have []port.SubPort
		if p.TrunkDetails != nil {
			have = p.TrunkDetails.SubPorts
		}
		same := func(a, b port.SubPort) bool {
			return a.PortID == b.PortID && a.SegmentationType == b.SegmentationType && a.SegmentationID == b.SegmentationID
		}
		for k, s := range tr.SubPorts {
			if !slices.ContainsFunc(have, func(h port.SubPort) bool { return same(h, s) }) {
				v.report(o, errdefs.Conflict(fmt.Sprintf("sub_ports[%d]", k), "sub-port %s is not in port %s's trunk_details", s.PortID, p.ID))
			}
		}
		if len(have) != len(tr.SubPorts) {
			v.report(o, errdefs.Conflict("sub_ports", "%d sub-ports, port %s's trunk_details lists %d", len(tr.SubPorts), p.ID, len(have)))
		}
	}
}
