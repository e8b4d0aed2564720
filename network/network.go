package network

// Network types (provider:network_type).
const (
	TypeVXLAN = "vxlan"
	TypeFlat  = "flat"
	TypeVLAN  = "vlan"
	TypeLocal = "local"
)

// DefaultMTU is Neutron's network MTU for a VXLAN network over a 1500-byte
// IPv4 underlay (1500 - 20 IP - 30 VXLAN encapsulation).
const DefaultMTU = 1450

// Network is a Neutron network: an L2 segment that subnets and ports belong to.
type Network struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
	// MTU of every device on the network; 0 means not given (Defaults fills it).
	MTU      int  `json:"mtu,omitempty"`
	External bool `json:"router:external,omitempty"`
	Shared   bool `json:"shared,omitempty"`
	// AdminStateUp defaults to true when nil.
	AdminStateUp    *bool  `json:"admin_state_up,omitempty"`
	NetworkType     string `json:"provider:network_type,omitempty"`
	PhysicalNetwork string `json:"provider:physical_network,omitempty"`
	SegmentationID  int    `json:"provider:segmentation_id,omitempty"`
	// DNSDomain is Neutron's dns_domain extension: the domain DHCP hands out.
	DNSDomain string `json:"dns_domain,omitempty"`
	// Segments is Neutron's multi-provider extension. One segment is the
	// provider attributes said another way (Defaults copies it into them);
	// several are refused (ErrUnsupported), see unsupported.go.
	Segments []Segment `json:"segments,omitempty"`
	// QoSPolicyID is read so that a QoS policy is refused (ErrUnsupported)
	// rather than ignored; null loads fine.
	QoSPolicyID string `json:"qos_policy_id,omitempty"`
}

// Segment is one segment of a multi-provider network.
type Segment struct {
	NetworkType     string `json:"provider:network_type,omitempty"`
	PhysicalNetwork string `json:"provider:physical_network,omitempty"`
	SegmentationID  int    `json:"provider:segmentation_id,omitempty"`
}

// Up reports admin_state_up with Neutron's default (true).
func (n *Network) Up() bool { return n.AdminStateUp == nil || *n.AdminStateUp }
