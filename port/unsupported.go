package port

import "github.com/neutrino-net/neutrino/internal/errdefs"

// refusals are the port fields and values Neutrino reads but does not
// realize yet: Validate refuses them with ErrUnsupported. Realizing one
// means deleting its entry here (and listing it as supported in the
// README).
func refusals() []errdefs.Refusal[Port] {
	return []errdefs.Refusal[Port]{
		{Path: "binding:vnic_type", Why: "only normal ports (a tap or veth on the host) are plugged; an SR-IOV, macvtap or bare-metal port would be plugged as a tap",
			Refused: func(p *Port) bool { return p.VNICType != "" && p.VNICType != VNICNormal }},
		{Path: "device_owner", Why: "ports of HA and distributed (DVR) routers belong to router kinds not realized yet; the port is neither plugged nor routed",
			Refused: func(p *Port) bool { return p.IsRouterOwned() && !p.IsRouterPort() }},
	}
}
