package secgroup

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Protocol is a rule's protocol as Neutron accepts it: a name or a number,
// in JSON as a string or a number.
type Protocol string

// UnmarshalJSON accepts "tcp", "6", 6 and null.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*p = ""
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*p = Protocol(strconv.Itoa(n))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*p = Protocol(s)
	return nil
}

// IP protocol numbers with a meaning for rules.
const (
	ProtoICMP    = 1
	ProtoTCP     = 6
	ProtoUDP     = 17
	ProtoDCCP    = 33
	ProtoICMPv6  = 58
	ProtoSCTP    = 132
	ProtoUDPLite = 136
)

// IsAny reports whether p matches every protocol: "" (null) or "any".
func (p Protocol) IsAny() bool { return p == "" || p == "any" }

// Number is the IP protocol number a rule with protocol p and the given
// ethertype matches, mapped as Neutron does: names through neutron-lib's
// IP_PROTOCOL_MAP (lower case, as Neutron stores them), numbers 0-255 as
// themselves, and for IPv6 "icmp", "icmpv6" and "1" become 58 (ipv6-icmp),
// Neutron's canonicalization. any is true, and num 0, for IsAny protocols.
// An unknown name or a number outside 0-255 is an error.
func (p Protocol) Number(ethertype string) (num uint8, any bool, err error) {
	if p.IsAny() {
		return 0, true, nil
	}
	n, ok := protocolNumber(string(p))
	if !ok {
		return 0, false, fmt.Errorf("%q is not a protocol name (tcp, udp, icmp, ipv6-icmp, sctp, ... in lower case) or a number 0-255", string(p))
	}
	if ethertype == IPv6 && n == ProtoICMP {
		n = ProtoICMPv6
	}
	return n, false, nil
}

// protocolNumber maps neutron-lib's IP_PROTOCOL_MAP names, its legacy alias
// icmpv6, and decimal numbers.
func protocolNumber(s string) (uint8, bool) {
	switch s {
	case "hopopt", "ip":
		return 0, true
	case "icmp":
		return ProtoICMP, true
	case "igmp":
		return 2, true
	case "ipip":
		return 4, true
	case "tcp":
		return ProtoTCP, true
	case "egp":
		return 8, true
	case "udp":
		return ProtoUDP, true
	case "dccp":
		return ProtoDCCP, true
	case "ipv6-encap":
		return 41, true
	case "ipv6-route":
		return 43, true
	case "ipv6-frag":
		return 44, true
	case "rsvp":
		return 46, true
	case "gre":
		return 47, true
	case "esp":
		return 50, true
	case "ah":
		return 51, true
	case "ipv6-icmp", "icmpv6":
		return ProtoICMPv6, true
	case "ipv6-nonxt":
		return 59, true
	case "ipv6-opts":
		return 60, true
	case "ospf":
		return 89, true
	case "vrrp":
		return 112, true
	case "pgm":
		return 113, true
	case "sctp":
		return ProtoSCTP, true
	case "udplite":
		return ProtoUDPLite, true
	}
	if len(s) == 0 || len(s) > 3 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err == nil
}

// ipv6Only reports the protocols Neutron refuses with ethertype IPv4
// (_validate_ethertype_and_protocol): IPv6 extension headers and ICMPv6.
func ipv6Only(n uint8) bool {
	switch n {
	case 41, 43, 44, ProtoICMPv6, 59, 60:
		return true
	}
	return false
}

// HasPorts reports whether protocol number n has ports that rules can match
// (neutron-lib SG_PORT_PROTO_NUMS): tcp, udp, dccp, sctp, udplite.
func HasPorts(n uint8) bool {
	switch n {
	case ProtoTCP, ProtoUDP, ProtoDCCP, ProtoSCTP, ProtoUDPLite:
		return true
	}
	return false
}

// IsICMP reports whether n is ICMP or ICMPv6, whose rules use
// port_range_min and port_range_max for the ICMP type and code.
func IsICMP(n uint8) bool { return n == ProtoICMP || n == ProtoICMPv6 }
