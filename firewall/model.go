package firewall

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/flowlog"
)

// Rule is a Neutron FWaaS v2 firewall_rule.
type Rule struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	ProjectID   string `json:"project_id,omitempty"`
	// Protocol is tcp, udp, icmp, ipv6-icmp, sctp or dccp; "" (null) or
	// "any" matches every protocol. icmp with ip_version 6 means ipv6-icmp,
	// as Neutron's driver translates it.
	Protocol string `json:"protocol,omitempty"`
	// IPVersion is 4 or 6; 0 means Neutron's default, 4.
	IPVersion int `json:"ip_version,omitempty"`
	// SourceIPAddress and DestinationIPAddress are an address or a CIDR;
	// unset matches all.
	SourceIPAddress      Address `json:"source_ip_address,omitzero"`
	DestinationIPAddress Address `json:"destination_ip_address,omitzero"`
	// SourcePort and DestinationPort are a port ("80") or a range
	// ("1000:1999"), for tcp, udp, sctp and dccp only.
	SourcePort      string `json:"source_port,omitempty"`
	DestinationPort string `json:"destination_port,omitempty"`
	// Action is allow, deny or reject (case-insensitive); "" means
	// Neutron's default, deny.
	Action string `json:"action,omitempty"`
	// Enabled defaults to true when nil; a disabled rule is skipped.
	Enabled *bool `json:"enabled,omitempty"`
	Shared  bool  `json:"shared,omitempty"`
}

// Policy is a Neutron FWaaS v2 firewall_policy: an ordered list of rules.
type Policy struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	ProjectID   string `json:"project_id,omitempty"`
	// Rules are firewall_rule IDs in the order they are evaluated; the
	// first that matches decides.
	Rules   []string `json:"firewall_rules,omitempty"`
	Audited bool     `json:"audited,omitempty"`
	Shared  bool     `json:"shared,omitempty"`
}

// Group is a Neutron FWaaS v2 firewall_group: policies applied to ports.
type Group struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	ProjectID   string `json:"project_id,omitempty"`
	// Ports are the port IDs the group protects: router interface ports
	// and instance ports, as in Neutron, and router gateway ports (our
	// extension: Neutron refuses them).
	Ports []string `json:"ports,omitempty"`
	// IngressPolicyID filters traffic into the port's network (out of the
	// router through the port); EgressPolicyID traffic from it (into the
	// router through the port). An unset side passes only replies of
	// flows the other side allowed.
	IngressPolicyID string `json:"ingress_firewall_policy_id,omitempty"`
	EgressPolicyID  string `json:"egress_firewall_policy_id,omitempty"`
	// AdminStateUp defaults to true when nil. A group that is down drops
	// everything on its ports, as Neutron's driver does.
	AdminStateUp *bool  `json:"admin_state_up,omitempty"`
	Shared       bool   `json:"shared,omitempty"`
	Status       string `json:"status,omitempty"`
}

// Log is a Neutron network log (the logging API's "log" resource), shared
// with security group logging.
type Log = flowlog.Log

// Actions, protocols, resource types and events as Neutron spells them.
const (
	ActionAllow  = "allow"
	ActionDeny   = "deny"
	ActionReject = "reject"

	ResourceFirewallGroup = flowlog.ResourceFirewallGroup
	ResourceSecurityGroup = flowlog.ResourceSecurityGroup

	EventAccept = flowlog.EventAccept
	EventDrop   = flowlog.EventDrop
	EventAll    = flowlog.EventAll
)

// Address is a firewall rule's source or destination: an address or a
// CIDR, held as a prefix (an address is a full-length prefix). The zero
// value means unset.
type Address struct{ netip.Prefix }

// ParseAddress parses "198.51.100.7" or "198.51.100.0/24".
func ParseAddress(s string) (Address, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Address{}, err
		}
		return Address{p.Masked()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Address{}, err
	}
	return Address{netip.PrefixFrom(a, a.BitLen())}, nil
}

// MustParseAddress is ParseAddress for tests and constants.
func MustParseAddress(s string) Address {
	a, err := ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

// IsZero reports an unset address.
func (a Address) IsZero() bool { return !a.Prefix.IsValid() }

// String renders an address without /32 or /128.
func (a Address) String() string {
	if a.IsZero() {
		return ""
	}
	if a.Bits() == a.Addr().BitLen() {
		return a.Addr().String()
	}
	return a.Prefix.String()
}

// MarshalText implements encoding.TextMarshaler.
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = Address{}
		return nil
	}
	p, err := ParseAddress(string(b))
	if err != nil {
		return fmt.Errorf("%q is not an IP address or CIDR", b)
	}
	*a = p
	return nil
}

// UnmarshalJSON accepts null as unset.
func (a *Address) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = Address{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	return a.UnmarshalText([]byte(s))
}

// PortRange is an inclusive range of transport ports.
type PortRange struct{ Min, Max uint16 }

// ParsePortRange parses "80" or "1000:1999" as Neutron does (the range
// may not run backwards; 0 to 65535).
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, isRange := strings.Cut(s, ":")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return PortRange{}, fmt.Errorf("%q is not a port or a port range a:b (0-65535)", s)
	}
	if !isRange {
		return PortRange{uint16(a), uint16(a)}, nil
	}
	b, err := strconv.ParseUint(hi, 10, 16)
	if err != nil {
		return PortRange{}, fmt.Errorf("%q is not a port or a port range a:b (0-65535)", s)
	}
	if a > b {
		return PortRange{}, fmt.Errorf("port range %q runs backwards: %d > %d", s, a, b)
	}
	return PortRange{uint16(a), uint16(b)}, nil
}

// ipVersion is the rule's ip_version with Neutron's default.
func (r *Rule) ipVersion() int {
	if r.IPVersion == 0 {
		return 4
	}
	return r.IPVersion
}

// IsEnabled reports enabled with Neutron's default (true).
func (r *Rule) IsEnabled() bool { return r.Enabled == nil || *r.Enabled }

// action is the lower-cased action with Neutron's default (deny).
func (r *Rule) action() string {
	if r.Action == "" {
		return ActionDeny
	}
	return strings.ToLower(r.Action)
}

// protocols known to the driver, with their IP protocol numbers; icmp is
// resolved by ip version.
var protocols = map[string]uint8{"tcp": 6, "udp": 17, "icmp": 1, "ipv6-icmp": 58, "sctp": 132, "dccp": 33}

// proto returns the protocol number the rule matches, or 0 for any.
// It assumes a valid rule.
func (r *Rule) proto() uint8 {
	p := strings.ToLower(r.Protocol)
	if p == "" || p == "any" {
		return 0
	}
	if p == "icmp" && r.ipVersion() == 6 {
		return 58
	}
	return protocols[p]
}

// hasPorts reports whether protocol number p has transport ports.
func hasPorts(p uint8) bool { return flowlog.HasPorts(p) }

// Validate checks the rule alone, with paths relative to it: a protocol
// Neutron knows, ports only with a protocol that has them and as valid
// ranges, ip_version 4 or 6 and agreeing with both addresses, an action
// Neutron knows.
func (r *Rule) Validate() error {
	var errs []error
	if r.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	v := r.ipVersion()
	if v != 4 && v != 6 {
		errs = append(errs, errdefs.Invalid("ip_version", "%d is not 4 or 6", r.IPVersion))
	}
	p := strings.ToLower(r.Protocol)
	num, known := protocols[p]
	if p != "" && p != "any" && !known {
		errs = append(errs, errdefs.Invalid("protocol", "%q is not tcp, udp, icmp, ipv6-icmp, sctp, dccp or any", r.Protocol))
	}
	if p == "ipv6-icmp" && v == 4 {
		errs = append(errs, errdefs.Invalid("protocol", "ipv6-icmp with ip_version 4"))
	}
	if p == "icmp" && v == 6 {
		num = 58
	}
	for _, f := range []struct{ path, val string }{{"source_port", r.SourcePort}, {"destination_port", r.DestinationPort}} {
		if f.val == "" {
			continue
		}
		if _, err := ParsePortRange(f.val); err != nil {
			errs = append(errs, errdefs.Invalid(f.path, "%v", err))
			continue
		}
		if !known || !hasPorts(num) {
			errs = append(errs, errdefs.Invalid(f.path, "a port needs protocol tcp, udp, sctp or dccp, not %q", r.Protocol))
		}
	}
	for _, f := range []struct {
		path string
		a    Address
	}{{"source_ip_address", r.SourceIPAddress}, {"destination_ip_address", r.DestinationIPAddress}} {
		if f.a.IsZero() || (v != 4 && v != 6) {
			continue
		}
		if got := addrVersion(f.a.Addr()); got != v {
			errs = append(errs, errdefs.Invalid(f.path, "%s is an IPv%d address but ip_version is %d", f.a, got, v))
		}
	}
	switch r.action() {
	case ActionAllow, ActionDeny, ActionReject:
	default:
		errs = append(errs, errdefs.Invalid("action", "%q is not allow, deny or reject", r.Action))
	}
	return errors.Join(errs...)
}

func addrVersion(a netip.Addr) int {
	if a.Is4() || a.Is4In6() {
		return 4
	}
	return 6
}

// Validate checks the policy alone: an ID, and rule IDs present and not
// repeated (a rule is in a policy once). References are the Desired's to
// check.
func (p *Policy) Validate() error { return validateList(p.ID, "firewall_rules", "rule", p.Rules) }

// Up reports admin_state_up with Neutron's default (true).
func (g *Group) Up() bool { return g.AdminStateUp == nil || *g.AdminStateUp }

// Validate checks the group alone: an ID, port IDs present and not
// repeated.
func (g *Group) Validate() error { return validateList(g.ID, "ports", "port", g.Ports) }

// validateList checks an object's ID and its list of references at field:
// none empty, none repeated.
func validateList(id, field, kind string, refs []string) error {
	var errs []error
	if id == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	seen := make(map[string]int, len(refs))
	for i, ref := range refs {
		path := errdefs.Index(field, i)
		if ref == "" {
			errs = append(errs, errdefs.Invalid(path, "empty %s ID", kind))
			continue
		}
		if j, dup := seen[ref]; dup {
			errs = append(errs, errdefs.Conflict(path, "%s %s repeats %s[%d]", kind, ref, field, j))
		}
		seen[ref] = i
	}
	return errors.Join(errs...)
}
