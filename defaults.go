package neutrino

import (
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// Defaults applies Neutron's defaults to every object that leaves them out,
// in place, and touches nothing that is set: network.Defaults (network type
// local, MTU 1450 for VXLAN and 1500 otherwise), subnet.Defaults
// (ip_version, the default gateway, allocation pools) and secgroup.Defaults
// (rules' security_group_id). Realizers never apply defaults; an
// application that wants Neutron's behaviour for a sparse document calls
// this once after Load and before Validate.
//
// Neutron's other defaults need no filling, because the models' accessors
// read an absent value as Neutron does: admin_state_up, enable_dhcp,
// enable_snat, port_security_enabled, stateful and the BGP advertise
// switches are true when absent. Nothing is invented that Neutron would
// allocate (MAC addresses, fixed IPs, VNIs) or decide by policy (a
// project's default security group on ports without one; see
// secgroup.DefaultGroup).
func (t *Topology) Defaults() {
	for i := range t.Networks {
		network.Defaults(&t.Networks[i])
	}
	for i := range t.Subnets {
		subnet.Defaults(&t.Subnets[i])
	}
	for i := range t.SecurityGroups {
		secgroup.Defaults(&t.SecurityGroups[i])
	}
}
