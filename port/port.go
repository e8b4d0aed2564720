package port

import (
	"net/netip"
)

// Device owners Neutrino acts on (Neutron's device_owner values).
const (
	OwnerComputePrefix   = "compute:"
	OwnerRouterInterface = "network:router_interface"
	OwnerRouterGateway   = "network:router_gateway"
	OwnerDHCP            = "network:dhcp"
	OwnerFloatingIP      = "network:floatingip"
	// A load balancer's VIP port: plugged into the load balancer's
	// namespace by the loadbalancer realizer (Octavia's owner, and
	// neutron-lbaas v2's).
	OwnerLoadBalancer   = "Octavia"
	OwnerLoadBalancerV2 = "neutron:LOADBALANCERV2"
)

// Device owners of HA and distributed (DVR) routers' ports. Neutrino
// realizes neither router kind yet: these ports are never plugged as
// instance taps, and Validate refuses them (unsupported.go).
const (
	OwnerHARouterInterface          = "network:ha_router_replicated_interface"
	OwnerRouterInterfaceDistributed = "network:router_interface_distributed"
	OwnerRouterHAInterface          = "network:router_ha_interface"
	OwnerRouterCentralizedSNAT      = "network:router_centralized_snat"
	OwnerFloatingIPAgentGateway     = "network:floatingip_agent_gateway"
)

// VNICNormal is the binding:vnic_type of a port the host plugs as a tap or
// veth (Neutron's default); the others (direct, macvtap, baremetal, ...)
// are refused.
const VNICNormal = "normal"

// Port is a Neutron port: an attachment point on a network with its MAC,
// fixed IPs, binding and security.
type Port struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	ProjectID   string    `json:"project_id,omitempty"`
	NetworkID   string    `json:"network_id"`
	MACAddress  MAC       `json:"mac_address"`
	FixedIPs    []FixedIP `json:"fixed_ips,omitempty"`
	DeviceOwner string    `json:"device_owner,omitempty"`
	DeviceID    string    `json:"device_id,omitempty"`
	HostID      string    `json:"binding:host_id,omitempty"`
	Profile     Profile   `json:"binding:profile,omitempty"`
	// AdminStateUp defaults to true when nil.
	AdminStateUp   *bool    `json:"admin_state_up,omitempty"`
	SecurityGroups []string `json:"security_groups,omitempty"`
	// PortSecurityEnabled defaults to true when nil.
	PortSecurityEnabled *bool          `json:"port_security_enabled,omitempty"`
	AllowedAddressPairs []AddressPair  `json:"allowed_address_pairs,omitempty"`
	ExtraDHCPOpts       []ExtraDHCPOpt `json:"extra_dhcp_opts,omitempty"`
	// DNSName is the host name DHCP hands out (Neutron's dns_name extension).
	DNSName string `json:"dns_name,omitempty"`
	// VNICType, QoSPolicyID and TrunkDetails are read so that what Neutrino
	// does not realize is refused (ErrUnsupported) rather than plugged as a
	// plain port: Neutron's own defaults ("normal", null, a trunk without
	// sub-ports) load fine. See unsupported.go.
	VNICType     string        `json:"binding:vnic_type,omitempty"`
	QoSPolicyID  string        `json:"qos_policy_id,omitempty"`
	TrunkDetails *TrunkDetails `json:"trunk_details,omitempty"`
}

// TrunkDetails is Neutron's trunk_details of a trunk's parent port.
type TrunkDetails struct {
	TrunkID  string    `json:"trunk_id,omitempty"`
	SubPorts []SubPort `json:"sub_ports,omitempty"`
}

// SubPort is one sub-port of a trunk.
type SubPort struct {
	PortID           string `json:"port_id"`
	SegmentationType string `json:"segmentation_type,omitempty"`
	SegmentationID   int    `json:"segmentation_id,omitempty"`
	MACAddress       MAC    `json:"mac_address,omitempty"`
}

// FixedIP is one address of a port on one of its network's subnets.
type FixedIP struct {
	SubnetID  string     `json:"subnet_id"`
	IPAddress netip.Addr `json:"ip_address"`
}

// Profile is the part of Neutron's free-form binding:profile that Neutrino
// reads (our extension; other keys are ignored). With NetNS set the port is a
// veth pair whose instance end moves into that namespace; without it the port
// is a tap device for a hypervisor to open.
type Profile struct {
	// NetNS is the instance's network namespace: a path such as
	// /run/netns/vm1, or a bare name looked up under /run/netns.
	NetNS string `json:"netns,omitempty"`
	// IfName is the instance-side interface name (default eth0).
	IfName string `json:"ifname,omitempty"`
	// ConfigureIPs asks the port realizer to put the fixed IPs (and the
	// subnet's default route) on the instance interface, for containers that
	// do not run a DHCP client.
	ConfigureIPs bool `json:"configure_ips,omitempty"`
}

// AddressPair is an allowed address pair: an extra address or CIDR (and
// optionally another MAC) that port security lets the port use.
type AddressPair struct {
	IPAddress  netip.Prefix `json:"ip_address"`
	MACAddress MAC          `json:"mac_address,omitempty"`
}

// ExtraDHCPOpt is a per-port DHCP option (Neutron's extra_dhcp_opt extension).
type ExtraDHCPOpt struct {
	OptName   string `json:"opt_name"`
	OptValue  string `json:"opt_value"`
	IPVersion int    `json:"ip_version,omitempty"`
}

// Up reports admin_state_up with Neutron's default (true).
func (p *Port) Up() bool { return p.AdminStateUp == nil || *p.AdminStateUp }

// SecurityEnabled reports port_security_enabled with Neutron's default (true).
func (p *Port) SecurityEnabled() bool { return p.PortSecurityEnabled == nil || *p.PortSecurityEnabled }

// IsInstance reports whether the port belongs to an instance (compute:*).
func (p *Port) IsInstance() bool {
	return len(p.DeviceOwner) >= len(OwnerComputePrefix) && p.DeviceOwner[:len(OwnerComputePrefix)] == OwnerComputePrefix
}

// IsRouterPort reports whether p is a legacy router's interface or gateway
// port: it lives in the router's namespace on the router's host, and its
// device_id is the router's ID.
func (p *Port) IsRouterPort() bool {
	return p.DeviceOwner == OwnerRouterInterface || p.DeviceOwner == OwnerRouterGateway
}

// IsRouterOwned reports whether p belongs to a router of any kind: legacy
// (IsRouterPort), HA or distributed. The router's realizer makes its
// device, never the port realizer.
func (p *Port) IsRouterOwned() bool {
	switch p.DeviceOwner {
	case OwnerRouterInterface, OwnerRouterGateway, OwnerHARouterInterface, OwnerRouterInterfaceDistributed,
		OwnerRouterHAInterface, OwnerRouterCentralizedSNAT, OwnerFloatingIPAgentGateway:
		return true
	}
	return false
}
