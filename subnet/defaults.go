package subnet

import "github.com/neutrino-net/neutrino/ipam"

// Defaults fills what Neutron's server fills for a subnet created without
// it, and touches nothing that is set:
//
//   - ip_version: from the CIDR's family;
//   - gateway_ip, when not given (absent, not null): ipam.DefaultGateway, the
//     first host for IPv4 and the subnet-router anycast address (the network
//     address) for IPv6; ipam.DefaultPoolGateway (network+1 in both families)
//     for a subnet with a subnetpool_id, as Neutron's subnet allocator does.
//     A /32 or /128 gets no gateway (NoGateway);
//   - allocation_pools, when nil: ipam.DefaultPools, the usable addresses
//     minus the gateway. An empty non-nil list (JSON []) stays empty.
//
// enable_dhcp needs no filling: DHCPEnabled reads nil as Neutron's true.
// Defaults does not mask a CIDR with host bits set; Validate refuses it.
// Realizers never call Defaults: an application that wants Neutron's
// defaults applies them explicitly.
func Defaults(s *Subnet) {
	if !s.CIDR.IsValid() {
		return
	}
	if s.IPVersion == 0 {
		s.IPVersion = s.family()
	}
	if !s.GatewayIP.IsValid() && !s.NoGateway {
		if s.SubnetPoolID != "" {
			s.GatewayIP = ipam.DefaultPoolGateway(s.CIDR)
		} else {
			s.GatewayIP = ipam.DefaultGateway(s.CIDR)
		}
		s.NoGateway = !s.GatewayIP.IsValid()
	}
	if s.AllocationPools == nil {
		s.AllocationPools = ipam.DefaultPools(s.CIDR, s.GatewayIP)
	}
}
