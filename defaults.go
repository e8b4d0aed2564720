package neutrino

import (
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// DefaultsOption configures Defaults with a choice Neutron's server makes
// from its configuration.
type DefaultsOption func(*defaultsConfig)

type defaultsConfig struct {
	tenantNetworkType string
}

// WithTenantNetworkType sets the network type given to networks without
// provider attributes: Neutron's tenant_network_types (its first entry).
// Default: vxlan (network.DefaultTenantNetworkType). A network listed with
// a tenant's credentials carries no provider attributes at all (they are
// admin-only), so this, not "local", is what it was created as.
func WithTenantNetworkType(networkType string) DefaultsOption {
	return func(c *defaultsConfig) { c.tenantNetworkType = networkType }
}

// Defaults applies Neutron's defaults to every object that leaves them out,
// in place, and touches nothing that is set: network.DefaultsFor (the tenant
// network type, vxlan unless WithTenantNetworkType says otherwise; MTU 1450
// for VXLAN and 1500 otherwise), subnet.Defaults (ip_version, the default
// gateway, allocation pools) and secgroup.Defaults (rules'
// security_group_id). Realizers never apply defaults; an application that
// wants Neutron's behaviour for a sparse document calls this once after
// Load and before Validate.
//
// Neutron's other defaults need no filling, because the models' accessors
// read an absent value as Neutron does: admin_state_up, enable_dhcp,
// enable_snat, port_security_enabled, stateful and the BGP advertise
// switches are true when absent. Nothing is invented that Neutron would
// allocate (MAC addresses, fixed IPs, VNIs: a vxlan network without its
// provider:segmentation_id fails Validate, naming it) or decide by policy
// (a project's default security group on ports without one; see
// secgroup.DefaultGroup).
func (t *Topology) Defaults(opts ...DefaultsOption) {
	c := defaultsConfig{tenantNetworkType: network.DefaultTenantNetworkType}
	for _, o := range opts {
		o(&c)
	}
	for i := range t.Networks {
		network.DefaultsFor(&t.Networks[i], c.tenantNetworkType)
	}
	for i := range t.Subnets {
		subnet.Defaults(&t.Subnets[i])
	}
	for i := range t.SecurityGroups {
		secgroup.Defaults(&t.SecurityGroups[i])
	}
}
