package secgroup

import (
	"errors"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/subnet"
)

// Validate checks the group and its rules, with paths relative to the group
// ("security_group_rules[3].port_range_min"): the ID, each rule's own
// validity, rules' security_group_id (empty, or this group's ID; Defaults
// fills it), rule IDs unique in the group, and no two rules equal after
// Neutron's normalization (_check_for_duplicate_rules: protocol by number,
// 0.0.0.0/0 and ::/0 as no prefix). References to remote groups and
// address groups are the document's to check (neutrino.Topology.Validate).
func (g *SecurityGroup) Validate() error {
	var errs []error
	if g.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	ids := make(map[string]int, len(g.Rules))
	keys := make(map[ruleKey]int, len(g.Rules))
	for i, r := range g.Rules {
		path := errdefs.Index("security_group_rules", i)
		if err := r.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		if r.SecurityGroupID != "" && r.SecurityGroupID != g.ID {
			errs = append(errs, errdefs.Invalid(path+".security_group_id", "%s is not the ID of the group that holds the rule", r.SecurityGroupID))
		}
		if j, dup := ids[r.ID]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats the ID of security_group_rules[%d]", r.ID, j))
		}
		ids[r.ID] = i
		if j, dup := keys[r.key()]; dup {
			errs = append(errs, errdefs.Conflict(path, "rule %s duplicates security_group_rules[%d] (%s)", r.ID, j, g.Rules[j].ID))
		}
		keys[r.key()] = i
	}
	return errors.Join(errs...)
}

// ruleKey is a rule as Neutron's _rule_to_key compares them (plus the
// address group, which that key predates).
type ruleKey struct {
	direction, ethertype   string
	protocol               int // -1 for any
	min, max               int // -1 for none
	remoteIP               netip.Prefix
	remoteGroup, addrGroup string
}

// key assumes a valid rule.
func (r *Rule) key() ruleKey {
	k := ruleKey{direction: r.Direction, ethertype: r.Ethertype, protocol: -1, min: -1, max: -1,
		remoteIP: r.RemoteIPPrefix.Masked(), remoteGroup: r.RemoteGroupID, addrGroup: r.RemoteAddressGroupID}
	if n, any, err := r.Protocol.Number(r.Ethertype); err == nil && !any {
		k.protocol = int(n)
	}
	if r.PortRangeMin != nil {
		k.min = *r.PortRangeMin
	}
	if r.PortRangeMax != nil {
		k.max = *r.PortRangeMax
	}
	if r.RemoteIPPrefix.IsValid() && r.RemoteIPPrefix.Bits() == 0 {
		k.remoteIP = netip.Prefix{}
	}
	return k
}

// Validate checks one rule, with paths relative to it, by Neutron's rules
// (_validate_security_group_rule and _validate_port_range):
//
//   - id is required; direction is ingress or egress; ethertype is IPv4 or
//     IPv6, spelled so (Neutron's API output is);
//   - protocol: null, "any", a lower-case name of neutron-lib's
//     IP_PROTOCOL_MAP, or a number 0-255 (Protocol.Number); the IPv6-only
//     protocols (ipv6-icmp, icmpv6, the extension headers, and their
//     numbers) are refused with IPv4;
//   - ports need a protocol. For tcp, udp, sctp, dccp and udplite both
//     bounds are required, 1..65535, min <= max. For icmp and ipv6-icmp
//     port_range_min is the ICMP type and port_range_max the code, each
//     0..255, and a code needs a type. Other protocols, and any, take no ports;
//   - at most one of remote_ip_prefix, remote_group_id,
//     remote_address_group_id; remote_ip_prefix is a CIDR of the
//     ethertype's family. Host bits are accepted, as Neutron accepts them:
//     10.0.0.5/24 matches the network it names, 10.0.0.0/24, and is
//     reported so (decoding a Rule from JSON normalizes it, as Neutron's
//     API returns it).
func (r *Rule) Validate() error {
	var errs []error
	if r.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if r.Direction != Ingress && r.Direction != Egress {
		errs = append(errs, errdefs.Invalid("direction", "%q is not ingress or egress", r.Direction))
	}
	ethertypeOK := r.Ethertype == IPv4 || r.Ethertype == IPv6
	if !ethertypeOK {
		errs = append(errs, errdefs.Invalid("ethertype", "%q is not IPv4 or IPv6", r.Ethertype))
	}
	errs = append(errs, r.validatePorts(), r.validateRemote(ethertypeOK))
	return errors.Join(errs...)
}

func (r *Rule) validatePorts() error {
	num, any, err := r.Protocol.Number(r.Ethertype)
	if err != nil {
		return errdefs.Invalid("protocol", "%v", err)
	}
	if !any && r.Ethertype == IPv4 && ipv6Only(num) {
		return errdefs.Invalid("protocol", "%s is an IPv6 protocol, but ethertype is IPv4", r.Protocol)
	}
	lo, hi := r.PortRangeMin, r.PortRangeMax
	if lo == nil && hi == nil {
		return nil
	}
	switch {
	case any:
		return errdefs.Invalid(portPath(lo), "ports need a protocol (tcp, udp, sctp, dccp, udplite, icmp or ipv6-icmp)")
	case HasPorts(num):
		var errs []error
		for _, b := range []struct {
			path string
			v    *int
		}{{"port_range_min", lo}, {"port_range_max", hi}} {
			switch {
			case b.v == nil:
				errs = append(errs, errdefs.Invalid(b.path, "required for protocol %s when the other bound is given", r.Protocol))
			case *b.v < 1 || *b.v > 65535:
				errs = append(errs, errdefs.Invalid(b.path, "port %d is outside 1..65535", *b.v))
			}
		}
		if len(errs) == 0 && *lo > *hi {
			errs = append(errs, errdefs.Invalid("port_range_max", "%d is below port_range_min %d", *hi, *lo))
		}
		return errors.Join(errs...)
	case IsICMP(num):
		var errs []error
		if lo != nil && (*lo < 0 || *lo > 255) {
			errs = append(errs, errdefs.Invalid("port_range_min", "ICMP type %d is outside 0..255", *lo))
		}
		if hi != nil && (*hi < 0 || *hi > 255) {
			errs = append(errs, errdefs.Invalid("port_range_max", "ICMP code %d is outside 0..255", *hi))
		}
		if lo == nil {
			errs = append(errs, errdefs.Invalid("port_range_min", "ICMP code %d is given without a type", *hi))
		}
		return errors.Join(errs...)
	default:
		return errdefs.Invalid(portPath(lo), "protocol %s has no ports; only tcp, udp, sctp, dccp, udplite (ports) and icmp, ipv6-icmp (type and code) take them", r.Protocol)
	}
}

func portPath(lo *int) string {
	if lo != nil {
		return "port_range_min"
	}
	return "port_range_max"
}

func (r *Rule) validateRemote(ethertypeOK bool) error {
	var set []string
	if r.RemoteIPPrefix.IsValid() {
		set = append(set, "remote_ip_prefix")
	}
	if r.RemoteGroupID != "" {
		set = append(set, "remote_group_id")
	}
	if r.RemoteAddressGroupID != "" {
		set = append(set, "remote_address_group_id")
	}
	if len(set) > 1 {
		return errdefs.Invalid(set[1], "only one of remote_ip_prefix, remote_group_id and remote_address_group_id may be set; %s is set too", set[0])
	}
	if !r.RemoteIPPrefix.IsValid() {
		return nil
	}
	if err := subnet.ValidateAddr("remote_ip_prefix", r.RemoteIPPrefix.Addr()); err != nil {
		return err
	}
	if ethertypeOK && (r.Ethertype == IPv4) != r.RemoteIPPrefix.Addr().Is4() {
		return errdefs.Invalid("remote_ip_prefix", "%s does not match ethertype %s", r.RemoteIPPrefix, r.Ethertype)
	}
	return nil
}

// Validate checks the address group, with paths relative to it: the ID and
// its addresses (canonical CIDRs of either family, no duplicates).
func (a *AddressGroup) Validate() error {
	var errs []error
	if a.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	seen := make(map[netip.Prefix]int, len(a.Addresses))
	for i, p := range a.Addresses {
		path := errdefs.Index("addresses", i)
		if err := subnet.ValidatePrefix(path, p); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := seen[p]; dup {
			errs = append(errs, errdefs.Conflict(path, "%s repeats addresses[%d]", p, j))
		}
		seen[p] = i
	}
	return errors.Join(errs...)
}
