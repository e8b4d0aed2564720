package neutrino

import (
	"net/netip"

	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/loadbalancer"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
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
	AddressScopes  []ipam.AddressScope      `json:"address_scopes,omitempty"`
	AddressGroups  []secgroup.AddressGroup  `json:"address_groups,omitempty"`
	SubnetPools    []ipam.SubnetPool        `json:"subnetpools,omitempty"`
	BGPSpeakers    []bgp.Speaker            `json:"bgp_speakers,omitempty"`
	BGPPeers       []bgp.Peer               `json:"bgp_peers,omitempty"`
	Hosts          []Host                   `json:"hosts,omitempty"`
	// Octavia's collections: loadbalancers, listeners, pools, members,
	// healthmonitors, l7policies.
	loadbalancer.Collections
}

// Host is our extension: a node of the deployment, its VXLAN tunnel address
// and the BGP speakers it runs.
type Host struct {
	Name        string     `json:"name"`
	TunnelIP    netip.Addr `json:"tunnel_ip,omitzero"`
	BGPSpeakers []string   `json:"bgp_speakers,omitempty"`
}
