package neutrino

import "github.com/neutrino-net/neutrino/vpn"

// vpn checks the VPNaaS objects against the document's routers, ports and
// subnets. vpn.Desired uses the document's collection names, so its paths
// are document paths.
func (v *validator) vpn() {
	d := v.t.vpnDesired()
	if d == nil {
		return
	}
	v.reportDoc(d.Validate())
}

// vpnDesired is the document's VPN state with the routers, ports and
// subnets it refers to; nil when the document has no VPN object.
func (t *Topology) vpnDesired() *vpn.Desired {
	if len(t.IKEPolicies)+len(t.IPsecPolicies)+len(t.VPNServices)+len(t.EndpointGroups)+len(t.IPsecSiteConnections) == 0 {
		return nil
	}
	return &vpn.Desired{IKEPolicies: t.IKEPolicies, IPsecPolicies: t.IPsecPolicies, VPNServices: t.VPNServices,
		EndpointGroups: t.EndpointGroups, IPsecSiteConnections: t.IPsecSiteConnections,
		Routers: t.Routers, Ports: t.Ports, Subnets: t.Subnets}
}

// VPN returns the document's VPN state (vpn.Desired) with the routers,
// ports and subnets its services refer to. On a host's slice (ForHost) it
// is the desired state of that node's vpn.Realizer.
func (t *Topology) VPN() vpn.Desired {
	if d := t.vpnDesired(); d != nil {
		return *d
	}
	return vpn.Desired{}
}
