package secgroup

import (
	"encoding/json"
	"net/netip"
)

// Rule directions and ethertypes, as Neutron spells them.
const (
	Ingress = "ingress"
	Egress  = "egress"
	IPv4    = "IPv4"
	IPv6    = "IPv6"
)

// SecurityGroup is a Neutron security group: a named set of rules that ports
// opt into. Traffic not allowed by a rule is dropped on ingress; egress is
// allowed only by rules (the default group has egress-any rules).
type SecurityGroup struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
	// Stateful defaults to true when nil; a stateless group bypasses conntrack.
	Stateful *bool  `json:"stateful,omitempty"`
	Rules    []Rule `json:"security_group_rules,omitempty"`
}

// IsStateful reports stateful with Neutron's default (true).
func (g *SecurityGroup) IsStateful() bool { return g.Stateful == nil || *g.Stateful }

// Rule is a Neutron security group rule. For ICMP protocols PortRangeMin is
// the ICMP type and PortRangeMax the code, as in Neutron. nil means "any".
type Rule struct {
	ID              string `json:"id"`
	SecurityGroupID string `json:"security_group_id,omitempty"`
	Direction       string `json:"direction"`
	Ethertype       string `json:"ethertype"`
	// Protocol is a name (tcp, udp, icmp, ipv6-icmp, sctp, ...) or a number
	// 0-255 as a string; "" and "any" mean every protocol.
	Protocol             Protocol     `json:"protocol,omitempty"`
	PortRangeMin         *int         `json:"port_range_min,omitempty"`
	PortRangeMax         *int         `json:"port_range_max,omitempty"`
	RemoteIPPrefix       netip.Prefix `json:"remote_ip_prefix,omitzero"`
	RemoteGroupID        string       `json:"remote_group_id,omitempty"`
	RemoteAddressGroupID string       `json:"remote_address_group_id,omitempty"`
	Description          string       `json:"description,omitempty"`
}

// AddressGroup is a Neutron address group: a named list of CIDRs that rules
// reference with remote_address_group_id.
type AddressGroup struct {
	ID        string         `json:"id"`
	Name      string         `json:"name,omitempty"`
	ProjectID string         `json:"project_id,omitempty"`
	Addresses []netip.Prefix `json:"addresses"`
}

// UnmarshalJSON decodes a rule as Neutron's API would store it:
// remote_ip_prefix with host bits (10.0.0.5/24) is normalized to the
// network it names (10.0.0.0/24), which is what the rule matches.
func (r *Rule) UnmarshalJSON(b []byte) error {
	type plain Rule // without this method
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	if r.RemoteIPPrefix.IsValid() {
		r.RemoteIPPrefix = r.RemoteIPPrefix.Masked()
	}
	return nil
}
