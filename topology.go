package neutrino

import (
	"encoding/json"
	"net/netip"

	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/firewall"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/loadbalancer"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/qos"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
	"github.com/neutrino-net/neutrino/vpn"
)

// Topology is the desired-state document: Neutron API collections under
// their Neutron names, plus our "hosts" extension.
type Topology struct {
	Networks       []network.Network        `json:"networks,omitempty"`
	Subnets        []subnet.Subnet          `json:"subnets,omitempty"`
	Ports          []port.Port              `json:"ports,omitempty"`
	Routers        []router.Router          `json:"routers,omitempty"`
	FloatingIPs    []router.FloatingIP      `json:"floatingips,omitempty"`
	SecurityGroups []secgroup.SecurityGroup `json:"security_groups,omitempty"`
	// SecurityGroupRules is the rules collection as the API lists it
	// (GET /v2.0/security-group-rules): each rule names its group in
	// security_group_id, and ForHost merges it into that group's rules.
	SecurityGroupRules []secgroup.Rule         `json:"security_group_rules,omitempty"`
	AddressScopes      []ipam.AddressScope     `json:"address_scopes,omitempty"`
	AddressGroups      []secgroup.AddressGroup `json:"address_groups,omitempty"`
	SubnetPools        []ipam.SubnetPool       `json:"subnetpools,omitempty"`
	BGPSpeakers        []bgp.Speaker           `json:"bgp_speakers,omitempty"`
	BGPPeers           []bgp.Peer              `json:"bgp_peers,omitempty"`
	Hosts              []Host                  `json:"hosts,omitempty"`

	// FWaaS v2 and network logging (package firewall).
	FirewallGroups   []firewall.Group  `json:"firewall_groups,omitempty"`
	FirewallPolicies []firewall.Policy `json:"firewall_policies,omitempty"`
	FirewallRules    []firewall.Rule   `json:"firewall_rules,omitempty"`
	// Logs are network logs of firewall groups (package firewall) and
	// security groups (package secgroup).
	Logs []firewall.Log `json:"logs,omitempty"`

	// Octavia's collections: loadbalancers, listeners, pools, members,
	// healthmonitors, l7policies.
	loadbalancer.Collections

	// VPNaaS (package vpn).
	IKEPolicies          []vpn.IKEPolicy      `json:"ikepolicies,omitempty"`
	IPsecPolicies        []vpn.IPsecPolicy    `json:"ipsecpolicies,omitempty"`
	VPNServices          []vpn.Service        `json:"vpnservices,omitempty"`
	EndpointGroups       []vpn.EndpointGroup  `json:"endpoint_groups,omitempty"`
	IPsecSiteConnections []vpn.SiteConnection `json:"ipsec_site_connections,omitempty"`

	// Collections of Neutron resources Neutrino does not realize yet. They
	// are read so that a non-empty one is refused by Validate
	// (ErrUnsupported, see unsupported.go) instead of being ignored as an
	// unknown key; empty or absent, they load fine.
	PortForwardings []json.RawMessage `json:"port_forwardings,omitempty"`

	// Trunks must agree with their parent ports' trunk_details, which is
	// what the port realizer plugs (VLAN sub-interfaces; see package port).
	Trunks []port.Trunk `json:"trunks,omitempty"`

	// QoSPolicies are applied to ports through their (or their
	// network's) qos_policy_id; see package qos.
	QoSPolicies []qos.Policy `json:"qos_policies,omitempty"`
}

// Host is our extension: a node of the deployment, its VXLAN tunnel address
// and the BGP speakers it runs.
type Host struct {
	Name        string     `json:"name"`
	TunnelIP    netip.Addr `json:"tunnel_ip,omitzero"`
	BGPSpeakers []string   `json:"bgp_speakers,omitempty"`
}
