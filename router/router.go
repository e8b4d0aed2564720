package router

import (
	"encoding/json"
	"net/netip"

	"github.com/neutrino-net/neutrino/port"
)

// Router is a Neutron router: it connects tenant networks (through ports with
// device_owner network:router_interface and device_id = the router ID) and,
// through its gateway, an external network.
type Router struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
	// AdminStateUp defaults to true when nil.
	AdminStateUp        *bool        `json:"admin_state_up,omitempty"`
	ExternalGatewayInfo *GatewayInfo `json:"external_gateway_info,omitempty"`
	Routes              []Route      `json:"routes,omitempty"`
	// HA, Distributed and ConntrackHelpers are read so that asking for
	// them is refused (ErrUnsupported) rather than silently realized as a
	// legacy single-node router; false and empty are what Neutron reports
	// for a legacy router, and load fine. See unsupported.go.
	HA bool `json:"ha,omitempty"`
	// HAVRID is the VRRP virtual router ID of an HA router, 1..254 and
	// unique on its HA network (a Neutrino extension: Neutron allocates it
	// server-side in ha_router_vrid_allocations and does not show it).
	HAVRID           int               `json:"ha_vrid,omitempty"`
	Distributed      bool              `json:"distributed,omitempty"`
	ConntrackHelpers []json.RawMessage `json:"conntrack_helpers,omitempty"`
}

// GatewayInfo is the router's external gateway.
type GatewayInfo struct {
	NetworkID string `json:"network_id"`
	// EnableSNAT defaults to true when nil, as in Neutron.
	EnableSNAT       *bool          `json:"enable_snat,omitempty"`
	ExternalFixedIPs []port.FixedIP `json:"external_fixed_ips,omitempty"`
	// QoSPolicyID is read so that a gateway QoS policy is refused
	// (ErrUnsupported) rather than ignored; null loads fine.
	QoSPolicyID string `json:"qos_policy_id,omitempty"`
}

// SNAT reports enable_snat with Neutron's default (true).
func (g *GatewayInfo) SNAT() bool { return g.EnableSNAT == nil || *g.EnableSNAT }

// Route is an extra route of the router (Neutron's extraroute extension).
type Route struct {
	Destination netip.Prefix `json:"destination"`
	NextHop     netip.Addr   `json:"nexthop"`
}

// Up reports admin_state_up with Neutron's default (true).
func (r *Router) Up() bool { return r.AdminStateUp == nil || *r.AdminStateUp }

// FloatingIP is a Neutron floating IP: a public address on an external
// network translated 1:1 to a port's fixed IP by the router that connects them.
type FloatingIP struct {
	ID                string     `json:"id"`
	ProjectID         string     `json:"project_id,omitempty"`
	FloatingIPAddress netip.Addr `json:"floating_ip_address"`
	FloatingNetworkID string     `json:"floating_network_id"`
	// PortID and FixedIPAddress are empty for an unassociated FIP. RouterID
	// is set with them, and may be set without them: Neutron reports a FIP
	// used only by port forwardings so. A FIP without a port is not NATed.
	PortID         string     `json:"port_id,omitempty"`
	FixedIPAddress netip.Addr `json:"fixed_ip_address,omitzero"`
	RouterID       string     `json:"router_id,omitempty"`
	// PortForwardings translate ports of the floating IP to instances
	// (portforward.go); a FIP with them has router_id and no port_id.
	PortForwardings []PortForwarding `json:"port_forwardings,omitempty"`
	// QoSPolicyID is read so that FIP QoS is refused (ErrUnsupported)
	// rather than ignored; null loads fine. See unsupported.go.
	QoSPolicyID string `json:"qos_policy_id,omitempty"`
}

// Associated reports whether the FIP points at a port.
func (f *FloatingIP) Associated() bool { return f.PortID != "" }
