package network

// DefaultTenantNetworkType is the network type Defaults gives a network
// without provider attributes, as ML2's tenant_network_types is commonly
// configured: a tenant network that spans hosts.
const DefaultTenantNetworkType = TypeVXLAN

// Defaults is DefaultsFor with DefaultTenantNetworkType.
func Defaults(n *Network) { DefaultsFor(n, DefaultTenantNetworkType) }

// DefaultsFor fills what Neutron's server fills for a network created
// without it, and touches nothing that is set:
//
//   - provider attributes from a single-entry segments list (Neutron's
//     multi-provider extension says one segment either way);
//   - provider:network_type: tenantType, Neutron's tenant_network_types, for
//     a network without one (the provider attributes are admin-only, so a
//     network listed with a tenant's credentials has none). Never a silent
//     local: a document that wants local networks says so, here or per
//     network. The segmentation ID is not invented: Neutron allocates it
//     from vni_ranges and shows it to admins only, so a vxlan (or vlan)
//     network without one fails Validate, naming the network, rather than
//     run on a guessed VNI that another host might guess differently;
//   - mtu: 1450 for VXLAN (a 1500-byte IPv4 underlay minus 20 bytes of IP
//     and 30 of VXLAN encapsulation), 1500 (global_physnet_mtu) for the
//     other types, as the type drivers' get_mtu computes them (NEUTRON.md
//     §1.6).
//
// Realizers never call it: an application that wants Neutron's defaults
// applies them explicitly, so that what is realized is what the document says.
func DefaultsFor(n *Network, tenantType string) {
	if n.NetworkType == "" && len(n.Segments) == 1 {
		s := n.Segments[0]
		n.NetworkType, n.PhysicalNetwork, n.SegmentationID = s.NetworkType, s.PhysicalNetwork, s.SegmentationID
	}
	if n.NetworkType == "" && len(n.Segments) == 0 {
		n.NetworkType = tenantType
	}
	if n.MTU == 0 {
		n.MTU = DefaultPhysicalMTU
		if n.NetworkType == TypeVXLAN {
			n.MTU = DefaultMTU
		}
	}
}

// DefaultPhysicalMTU is Neutron's global_physnet_mtu: the MTU of flat, VLAN
// and local networks when none is given.
const DefaultPhysicalMTU = 1500
