package neutrino

// vpnSlice adds to out (host's slice of t) the VPN services of the routers
// realized on host, their site connections, and the policies and endpoint
// groups those name: a VPN service lives where its router does. The
// routers, their ports and subnets are in the slice already.
func vpnSlice(t *Topology, x *Index, host string, out *Topology) {
	if len(t.VPNServices) == 0 {
		return
	}
	local := map[string]bool{}
	for _, r := range x.RoutersOn(host) {
		local[r.ID] = true
	}
	services := map[string]bool{}
	for _, s := range t.VPNServices {
		if local[s.RouterID] {
			out.VPNServices = append(out.VPNServices, s)
			services[s.ID] = true
		}
	}
	ike, esp, groups := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range t.IPsecSiteConnections {
		if services[c.VPNServiceID] {
			out.IPsecSiteConnections = append(out.IPsecSiteConnections, c)
			ike[c.IKEPolicyID], esp[c.IPsecPolicyID] = true, true
			groups[c.LocalEPGroupID], groups[c.PeerEPGroupID] = true, true
		}
	}
	for _, p := range t.IKEPolicies {
		if ike[p.ID] {
			out.IKEPolicies = append(out.IKEPolicies, p)
		}
	}
	for _, p := range t.IPsecPolicies {
		if esp[p.ID] {
			out.IPsecPolicies = append(out.IPsecPolicies, p)
		}
	}
	for _, g := range t.EndpointGroups {
		if groups[g.ID] {
			out.EndpointGroups = append(out.EndpointGroups, g)
		}
	}
}
