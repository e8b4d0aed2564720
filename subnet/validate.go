package subnet

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
)

// Neutron's limits (neutron.conf defaults).
const (
	MaxDNSNameservers = 5  // max_dns_nameservers
	MaxHostRoutes     = 20 // max_subnet_host_routes
)

// Validate checks the subnet on its own, with paths relative to it, by
// Neutron's rules (NeutronDbPluginV2._validate_subnet, IpamBackendMixin,
// _validate_ipv6_attributes). All problems are reported, joined. Where the
// document must be explicit, Validate refuses what Defaults would fill:
//
//   - ip_version is required and must match the CIDR;
//   - cidr is required, not /0, and canonical: host bits set
//     ("10.0.0.5/24") are refused rather than masked as Neutron's API does,
//     because in a desired-state document they are more likely a gateway
//     typed in the wrong field than an intent;
//   - gateway_ip must be given: an address, or null for no gateway. Neutron
//     reads a missing gateway_ip as "the default gateway", which Defaults
//     fills in; realizers never guess it. The gateway must lie inside the
//     CIDR (a deviation: Neutron accepts an off-link gateway, which our
//     router and DHCP realizers do not serve) and, for IPv4 up to /30, be
//     neither the network nor the broadcast address;
//   - allocation_pools: inside the usable addresses, not overlapping, not
//     containing the gateway (ipam.ValidatePools). No pools is valid: ports
//     then carry explicit addresses only;
//   - dns_nameservers (at most 5) and host_routes (at most 20) are of the
//     subnet's family, without duplicates;
//   - with DHCP enabled: IPv4 up to /30, IPv6 up to /126, and no multicast,
//     loopback or 0.0.0.0/8 network;
//   - ipv6_ra_mode and ipv6_address_mode: only on IPv6 subnets, only with
//     DHCP enabled, equal when both are set (ra mode alone, or address mode
//     alone for an external router, are allowed), and slaac or
//     dhcpv6-stateless need a /64 (EUI-64 addresses).
//
// References (network_id, subnetpool_id) and overlap with other subnets of
// the network are the document's to check (neutrino.Topology.Validate).
func (s *Subnet) Validate() error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if s.NetworkID == "" {
		errs = append(errs, errdefs.Invalid("network_id", "required"))
	}
	cidrOK := s.validateCIDR(&errs)
	if cidrOK {
		errs = append(errs, s.validateGateway(), ipam.ValidatePools(s.CIDR, s.GatewayIP, s.AllocationPools), s.validateDHCPPrefix())
	}
	errs = append(errs, s.validateDNS(), s.validateHostRoutes(), s.validateIPv6Modes(cidrOK), ValidateDomain("dns_domain", s.DNSDomain))
	return errors.Join(errs...)
}

// validateCIDR reports whether the CIDR is good enough to check the fields
// that depend on it.
func (s *Subnet) validateCIDR(errs *[]error) bool {
	if s.IPVersion != 4 && s.IPVersion != 6 {
		*errs = append(*errs, errdefs.Invalid("ip_version", "%d is not 4 or 6 (subnet.Defaults sets it from cidr)", s.IPVersion))
	}
	if err := ValidatePrefix("cidr", s.CIDR); err != nil {
		*errs = append(*errs, err)
		return false
	}
	switch {
	case s.CIDR.Bits() == 0:
		*errs = append(*errs, errdefs.Invalid("cidr", "%s: 0 is not allowed as CIDR prefix length", s.CIDR))
		return false
	case (s.IPVersion == 4 || s.IPVersion == 6) && s.IPVersion != s.family():
		*errs = append(*errs, errdefs.Invalid("ip_version", "%d does not match cidr %s", s.IPVersion, s.CIDR))
		return false
	}
	return true
}

func (s *Subnet) validateGateway() error {
	if !s.GatewayIP.IsValid() {
		if s.NoGateway {
			return nil
		}
		return errdefs.Invalid("gateway_ip", "not given: give an address, null for no gateway, or apply subnet.Defaults")
	}
	gw := s.GatewayIP
	switch {
	case ValidateAddr("gateway_ip", gw) != nil:
		return ValidateAddr("gateway_ip", gw)
	case !s.CIDR.Contains(gw):
		return errdefs.Invalid("gateway_ip", "%s is outside cidr %s", gw, s.CIDR)
	case gw.Is4() && s.CIDR.Bits() <= 30 && (gw == s.CIDR.Addr() || gw == lastAddr(s.CIDR)):
		return errdefs.Invalid("gateway_ip", "%s is the network or broadcast address of %s", gw, s.CIDR)
	}
	return nil
}

func (s *Subnet) validateDHCPPrefix() error {
	if !s.DHCPEnabled() {
		return nil
	}
	a, bits := s.CIDR.Addr(), s.CIDR.Bits()
	switch {
	case a.Is4() && bits > 30, a.Is6() && bits > 126:
		return errdefs.Invalid("cidr", "%s has a prefix length that is incompatible with DHCP service (enable_dhcp is true)", s.CIDR)
	case a.IsMulticast(), a.IsLoopback(), a.Is4() && a.As4()[0] == 0:
		return errdefs.Invalid("cidr", "%s is a multicast, loopback or 0.0.0.0/8 network, which DHCP cannot serve (enable_dhcp is true)", s.CIDR)
	}
	return nil
}

func (s *Subnet) validateDNS() error {
	var errs []error
	if len(s.DNSNameservers) > MaxDNSNameservers {
		errs = append(errs, errdefs.Invalid("dns_nameservers", "%d servers exceed the maximum of %d", len(s.DNSNameservers), MaxDNSNameservers))
	}
	seen := make(map[netip.Addr]int, len(s.DNSNameservers))
	for i, a := range s.DNSNameservers {
		path := errdefs.Index("dns_nameservers", i)
		if err := s.checkFamily(path, a); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := seen[a]; dup {
			errs = append(errs, errdefs.Conflict(path, "%s repeats dns_nameservers[%d]", a, j))
		}
		seen[a] = i
	}
	return errors.Join(errs...)
}

func (s *Subnet) validateHostRoutes() error {
	var errs []error
	if len(s.HostRoutes) > MaxHostRoutes {
		errs = append(errs, errdefs.Invalid("host_routes", "%d routes exceed the maximum of %d", len(s.HostRoutes), MaxHostRoutes))
	}
	seen := make(map[HostRoute]int, len(s.HostRoutes))
	for i, r := range s.HostRoutes {
		path := errdefs.Index("host_routes", i)
		var rerrs []error
		switch {
		case ValidatePrefix(path+".destination", r.Destination) != nil:
			rerrs = append(rerrs, ValidatePrefix(path+".destination", r.Destination))
		default:
			rerrs = append(rerrs, s.checkFamily(path+".destination", r.Destination.Addr()))
		}
		rerrs = append(rerrs, s.checkFamily(path+".nexthop", r.NextHop))
		if err := errors.Join(rerrs...); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := seen[r]; dup {
			errs = append(errs, errdefs.Conflict(path, "repeats host_routes[%d]", j))
		}
		seen[r] = i
	}
	return errors.Join(errs...)
}

// checkFamily checks that a is a plain address (ValidateAddr) of the
// subnet's family.
func (s *Subnet) checkFamily(path string, a netip.Addr) error {
	if err := ValidateAddr(path, a); err != nil {
		return err
	}
	if f := s.family(); f == 4 && !a.Is4() || f == 6 && !a.Is6() {
		return errdefs.Invalid(path, "%s is not an IPv%d address like the subnet", a, f)
	}
	return nil
}

// family is the subnet's IP version: its CIDR's when it has one, else its
// ip_version.
func (s *Subnet) family() int {
	switch {
	case s.CIDR.IsValid() && s.CIDR.Addr().Is4():
		return 4
	case s.CIDR.IsValid():
		return 6
	}
	return s.IPVersion
}

func (s *Subnet) validateIPv6Modes(cidrOK bool) error {
	var errs []error
	for _, m := range []struct{ path, mode string }{{"ipv6_ra_mode", s.IPv6RAMode}, {"ipv6_address_mode", s.IPv6AddressMode}} {
		switch m.mode {
		case "":
		case ModeSLAAC, ModeDHCPv6Stateful, ModeDHCPv6Stateless:
			if s.family() == 4 {
				errs = append(errs, errdefs.Invalid(m.path, "%s cannot be set on an IPv4 subnet", m.mode))
			} else if !s.DHCPEnabled() {
				errs = append(errs, errdefs.Invalid(m.path, "%s cannot be set when enable_dhcp is false", m.mode))
			}
		default:
			errs = append(errs, errdefs.Invalid(m.path, "%q is not one of slaac, dhcpv6-stateful, dhcpv6-stateless", m.mode))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if s.IPv6RAMode != "" && s.IPv6AddressMode != "" && s.IPv6RAMode != s.IPv6AddressMode {
		return errdefs.Invalid("ipv6_address_mode", "%s differs from ipv6_ra_mode %s: when both are set they must be equal", s.IPv6AddressMode, s.IPv6RAMode)
	}
	if cidrOK && s.AutoAddress() && s.CIDR.Bits() != 64 {
		return errdefs.Invalid("cidr", "%s: IPv6 mode %s uses EUI-64 addresses, which need a /64", s.CIDR, s.autoMode())
	}
	return nil
}

// AutoAddress reports whether instances configure their own addresses on the
// subnet (slaac or dhcpv6-stateless in either mode attribute), as Neutron's
// ipv6_utils.is_auto_address_subnet does: their fixed IPs are EUI-64
// addresses derived from their MACs.
func (s *Subnet) AutoAddress() bool { return s.autoMode() != "" }

func (s *Subnet) autoMode() string {
	for _, m := range []string{s.IPv6AddressMode, s.IPv6RAMode} {
		if m == ModeSLAAC || m == ModeDHCPv6Stateless {
			return m
		}
	}
	return ""
}

// lastAddr is the last address of p (the IPv4 broadcast address).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// ValidateDomain checks a DNS domain (a network's or subnet's dns_domain) the
// way DHCP hands it out: at most 253 characters of dot-separated labels, each
// a ValidLabel. A trailing dot is allowed, "" means none.
func ValidateDomain(path, d string) error {
	if d == "" {
		return nil
	}
	name := strings.TrimSuffix(d, ".")
	if name == "" || len(name) > 253 {
		return errdefs.Invalid(path, "%q is not a DNS domain name", d)
	}
	for _, label := range strings.Split(name, ".") {
		if !ValidLabel(label) {
			return errdefs.Invalid(path, "%q is not a DNS domain name: bad label %q", d, label)
		}
	}
	return nil
}

// ValidLabel reports whether l is a DNS label (RFC 1123 host name label):
// 1..63 letters, digits and hyphens, not starting or ending with a hyphen.
// Ports' dns_name is one label.
func ValidLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, c := range []byte(l) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateAddr checks that a is an address as the document must write it:
// present, without a zone, and an IPv4 address in dotted form rather than
// IPv4-mapped IPv6 (::ffff:10.0.0.1), which would compare unequal to the
// same address elsewhere. The models of every package use it.
func ValidateAddr(path string, a netip.Addr) error {
	switch {
	case !a.IsValid():
		return errdefs.Invalid(path, "an IP address is required")
	case a.Zone() != "":
		return errdefs.Invalid(path, "%s: an address here cannot carry a zone", a)
	case a.Is4In6():
		return errdefs.Invalid(path, "%s: write an IPv4 address in dotted form", a)
	}
	return nil
}

// ValidatePrefix checks that p is a CIDR as the document must write it:
// present, canonical (host bits zero: "10.0.0.0/24", not "10.0.0.5/24") and
// with its address as ValidateAddr wants it. Neutron masks some prefixes
// silently (remote_ip_prefix keeps the host bits and matches on the network);
// Neutrino refuses them so that every realizer reads one form.
func ValidatePrefix(path string, p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return errdefs.Invalid(path, "a CIDR is required")
	case ValidateAddr(path, p.Addr()) != nil:
		return ValidateAddr(path, p.Addr())
	case p.Masked() != p:
		return errdefs.Invalid(path, "%s has host bits set: the network is %s", p, p.Masked())
	}
	return nil
}

// ValidateIDs checks a list of references by ID (a port's security_groups,
// a speaker's peers): no empty ID, none twice. Paths are name[i].
func ValidateIDs(name string, ids []string) error {
	var errs []error
	seen := make(map[string]int, len(ids))
	for i, id := range ids {
		path := errdefs.Index(name, i)
		if id == "" {
			errs = append(errs, errdefs.Invalid(path, "empty ID"))
			continue
		}
		if j, dup := seen[id]; dup {
			errs = append(errs, errdefs.Conflict(path, "%s repeats %s[%d]", id, name, j))
		}
		seen[id] = i
	}
	return errors.Join(errs...)
}
