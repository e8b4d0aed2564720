package subnet

import (
	"encoding/json"
	"net/netip"

	"github.com/neutrino-net/neutrino/ipam"
)

// IPv6 address and RA modes, as Neutron names them.
const (
	ModeSLAAC           = "slaac"
	ModeDHCPv6Stateful  = "dhcpv6-stateful"
	ModeDHCPv6Stateless = "dhcpv6-stateless"
)

// Subnet is a Neutron subnet: an IP block on a network, with its gateway,
// allocation pools and what DHCP tells instances.
type Subnet struct {
	ID        string       `json:"id"`
	Name      string       `json:"name,omitempty"`
	ProjectID string       `json:"project_id,omitempty"`
	NetworkID string       `json:"network_id"`
	IPVersion int          `json:"ip_version"`
	CIDR      netip.Prefix `json:"cidr"`
	// GatewayIP is the subnet's router address. The zero Addr with NoGateway
	// false means "not given" (Defaults fills it); NoGateway true means the
	// document said null: the subnet has no gateway, as in Neutron.
	GatewayIP       netip.Addr   `json:"gateway_ip"`
	NoGateway       bool         `json:"-"`
	AllocationPools []ipam.Range `json:"allocation_pools,omitempty"`
	DNSNameservers  []netip.Addr `json:"dns_nameservers,omitempty"`
	HostRoutes      []HostRoute  `json:"host_routes,omitempty"`
	// EnableDHCP defaults to true when nil, as in Neutron.
	EnableDHCP      *bool  `json:"enable_dhcp,omitempty"`
	IPv6RAMode      string `json:"ipv6_ra_mode,omitempty"`
	IPv6AddressMode string `json:"ipv6_address_mode,omitempty"`
	SubnetPoolID    string `json:"subnetpool_id,omitempty"`
	// DNSDomain is the domain handed out by DHCP (Neutron's dns_domain of the
	// network, or the agent's dns_domain option).
	DNSDomain string `json:"dns_domain,omitempty"`
}

// HostRoute is a static route DHCP hands to instances (option 121).
type HostRoute struct {
	Destination netip.Prefix `json:"destination"`
	NextHop     netip.Addr   `json:"nexthop"`
}

// DHCPEnabled reports enable_dhcp with Neutron's default (true).
func (s *Subnet) DHCPEnabled() bool { return s.EnableDHCP == nil || *s.EnableDHCP }

// HasGateway reports whether the subnet has a gateway address.
func (s *Subnet) HasGateway() bool { return s.GatewayIP.IsValid() }

// UnmarshalJSON records an explicit "gateway_ip": null as NoGateway, which
// Neutron distinguishes from an absent key (absent: the default gateway).
func (s *Subnet) UnmarshalJSON(b []byte) error {
	type plain Subnet
	var aux struct {
		plain
		GatewayIP json.RawMessage `json:"gateway_ip"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*s = Subnet(aux.plain)
	s.GatewayIP, s.NoGateway = netip.Addr{}, false
	switch raw := string(aux.GatewayIP); raw {
	case "":
	case "null":
		s.NoGateway = true
	default:
		var a netip.Addr
		if err := json.Unmarshal(aux.GatewayIP, &a); err != nil {
			return &json.UnmarshalTypeError{Value: raw, Field: "gateway_ip", Type: jsonAddrType}
		}
		s.GatewayIP = a
		s.NoGateway = !a.IsValid()
	}
	return nil
}

// MarshalJSON writes a missing gateway as null, as Neutron does.
func (s Subnet) MarshalJSON() ([]byte, error) {
	type plain Subnet
	aux := struct {
		plain
		GatewayIP *netip.Addr `json:"gateway_ip"`
	}{plain: plain(s)}
	if s.GatewayIP.IsValid() {
		aux.GatewayIP = &s.GatewayIP
	}
	return json.Marshal(aux)
}
