package neutrino

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
)

// fipPortForwardings checks the references of a floating IP's port
// forwardings (their own fields are router.FloatingIP.Validate's): the
// internal port exists, the internal address is one of its fixed IPs, and
// the FIP's router (r, nil when missing) has an interface on that address's
// subnet, as Neutron's _find_a_router_for_fip_port_forwarding requires.
func (v *validator) fipPortForwardings(o obj, f *router.FloatingIP, r *router.Router) {
	for i := range f.PortForwardings {
		pf := &f.PortForwardings[i]
		path := fmt.Sprintf("port_forwardings[%d].", i)
		if pf.InternalPortID == "" || !pf.InternalIPAddress.IsValid() {
			continue // reported by Validate
		}
		p := v.x.Port(pf.InternalPortID)
		if p == nil {
			v.report(o, errdefs.NotFound(path+"internal_port_id", "port %s does not exist", pf.InternalPortID))
			continue
		}
		var fixed *port.FixedIP
		for j := range p.FixedIPs {
			if p.FixedIPs[j].IPAddress == pf.InternalIPAddress {
				fixed = &p.FixedIPs[j]
			}
		}
		if fixed == nil {
			v.report(o, errdefs.Invalid(path+"internal_ip_address", "%s is not a fixed IP of port %s", pf.InternalIPAddress, p.ID))
			continue
		}
		if r == nil {
			continue
		}
		reached := false
		for _, rp := range v.x.RouterPorts(r.ID) {
			if rp.DeviceOwner == port.OwnerRouterInterface && hasFixedIP(rp, port.FixedIP{SubnetID: fixed.SubnetID}) {
				reached = true
			}
		}
		if !reached {
			v.report(o, errdefs.Invalid(path+"internal_ip_address", "router %s has no interface on subnet %s of %s", r.ID, fixed.SubnetID, pf.InternalIPAddress))
		}
	}
}
