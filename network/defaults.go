package network

// Defaults fills what Neutron's server fills for a network created without
// it, and touches nothing that is set:
//
//   - provider:network_type: local, the default of ML2's
//     tenant_network_types (deployments usually configure vxlan; say so in
//     the document, with a segmentation ID);
//   - mtu: 1450 for VXLAN (a 1500-byte IPv4 underlay minus 20 bytes of IP
//     and 30 of VXLAN encapsulation), 1500 (global_physnet_mtu) for the
//     other types, as the type drivers' get_mtu computes them (NEUTRON.md
//     §1.6).
//
// Realizers never call it: an application that wants Neutron's defaults
// applies them explicitly, so that what is realized is what the document says.
func Defaults(n *Network) {
	if n.NetworkType == "" {
		n.NetworkType = TypeLocal
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
