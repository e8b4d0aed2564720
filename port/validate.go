package port

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/subnet"
)

// MaxAllowedAddressPairs is Neutron's max_allowed_address_pair.
const MaxAllowedAddressPairs = 10

// Validate checks the port on its own, with paths relative to it:
//
//   - id, network_id and mac_address are required; the MAC is a unicast
//     48-bit address (Neutron generates one; Neutrino does not);
//   - every fixed IP names its subnet and its address (the document is the
//     allocated state; allocate with ipam before writing it), no address
//     twice;
//   - router interface, router gateway and floating-IP ports name their
//     owner in device_id;
//   - security_groups are non-empty IDs without duplicates; a port with
//     port_security_enabled false can have neither security groups nor
//     allowed address pairs, as in Neutron;
//   - allowed_address_pairs: canonical CIDRs or addresses, unicast MACs, at
//     most 10, no duplicates;
//   - binding:profile: ifname is a Linux interface name and, like
//     configure_ips, needs netns; netns is an absolute path or a bare name;
//   - extra_dhcp_opts: a name, ip_version 4, 6 or none, no duplicates;
//   - dns_name is one DNS label;
//   - what Neutrino does not realize is refused with ErrUnsupported
//     (unsupported.go): trunk sub-ports, QoS policies, vnic types other
//     than normal, ports of HA and distributed routers.
//
// References (network, subnets, addresses inside them, groups, routers) are
// the document's to check (neutrino.Topology.Validate).
func (p *Port) Validate() error {
	var errs []error
	if p.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if p.NetworkID == "" {
		errs = append(errs, errdefs.Invalid("network_id", "required"))
	}
	errs = append(errs, ValidateMAC("mac_address", p.MACAddress, true))
	errs = append(errs, p.validateFixedIPs(), p.validateOwner(), p.validateSecurity(),
		p.validatePairs(), p.Profile.validate(), p.validateDHCPOpts())
	if p.DNSName != "" && !subnet.ValidLabel(p.DNSName) {
		errs = append(errs, errdefs.Invalid("dns_name", "%q is not a DNS label (1-63 letters, digits, hyphens)", p.DNSName))
	}
	if p.TrunkDetails != nil {
		errs = append(errs, validateSubPorts("trunk_details.sub_ports", p.ID, p.TrunkDetails.SubPorts))
	}
	errs = append(errs, errdefs.Refuse(p, refusals()))
	return errors.Join(errs...)
}

// ValidateMAC checks that m, when given or required, is a 48-bit unicast MAC
// other than all zeros: the address of one interface.
func ValidateMAC(path string, m MAC, required bool) error {
	switch {
	case len(m) == 0 && !required:
		return nil
	case len(m) == 0:
		return errdefs.Invalid(path, "required")
	case len(m) != 6:
		return errdefs.Invalid(path, "%s is not a 48-bit MAC address", m)
	case m[0]&1 != 0:
		return errdefs.Invalid(path, "%s is a multicast MAC address", m)
	case m[0]|m[1]|m[2]|m[3]|m[4]|m[5] == 0:
		return errdefs.Invalid(path, "%s is the all-zero MAC address", m)
	}
	return nil
}

func (p *Port) validateFixedIPs() error {
	var errs []error
	seen := make(map[netip.Addr]int, len(p.FixedIPs))
	for i, f := range p.FixedIPs {
		path := errdefs.Index("fixed_ips", i)
		if err := f.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		if j, dup := seen[f.IPAddress]; dup {
			errs = append(errs, errdefs.Conflict(path+".ip_address", "%s repeats fixed_ips[%d]", f.IPAddress, j))
		}
		seen[f.IPAddress] = i
	}
	return errors.Join(errs...)
}

// Validate checks that both the subnet and the address are given, with paths
// relative to the fixed IP. Routers' external_fixed_ips use it too.
func (f FixedIP) Validate() error {
	var errs []error
	if f.SubnetID == "" {
		errs = append(errs, errdefs.Invalid("subnet_id", "required"))
	}
	if err := subnet.ValidateAddr("ip_address", f.IPAddress); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (p *Port) validateOwner() error {
	switch p.DeviceOwner {
	case OwnerRouterInterface, OwnerRouterGateway, OwnerFloatingIP:
		if p.DeviceID == "" {
			return errdefs.Invalid("device_id", "required for a %s port: the ID of its owner", p.DeviceOwner)
		}
	}
	return nil
}

func (p *Port) validateSecurity() error {
	errs := []error{subnet.ValidateIDs("security_groups", p.SecurityGroups)}
	if !p.SecurityEnabled() {
		if len(p.SecurityGroups) > 0 {
			errs = append(errs, errdefs.Invalid("port_security_enabled", "false, but the port has security groups: remove them first, as Neutron requires"))
		}
		if len(p.AllowedAddressPairs) > 0 {
			errs = append(errs, errdefs.Invalid("port_security_enabled", "false, but the port has allowed address pairs, which only port security enforces"))
		}
	}
	return errors.Join(errs...)
}

func (p *Port) validatePairs() error {
	var errs []error
	if len(p.AllowedAddressPairs) > MaxAllowedAddressPairs {
		errs = append(errs, errdefs.Invalid("allowed_address_pairs", "%d pairs exceed the maximum of %d", len(p.AllowedAddressPairs), MaxAllowedAddressPairs))
	}
	type key struct {
		ip  netip.Prefix
		mac string
	}
	seen := make(map[key]int, len(p.AllowedAddressPairs))
	for i, a := range p.AllowedAddressPairs {
		path := errdefs.Index("allowed_address_pairs", i)
		err := errors.Join(subnet.ValidatePrefix(path+".ip_address", a.IPAddress), ValidateMAC(path+".mac_address", a.MACAddress, false))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		k := key{a.IPAddress, a.MACAddress.String()}
		if j, dup := seen[k]; dup {
			errs = append(errs, errdefs.Conflict(path, "repeats allowed_address_pairs[%d]", j))
		}
		seen[k] = i
	}
	return errors.Join(errs...)
}

func (p *Port) validateDHCPOpts() error {
	var errs []error
	type key struct {
		name    string
		version int
	}
	seen := make(map[key]int, len(p.ExtraDHCPOpts))
	for i, o := range p.ExtraDHCPOpts {
		path := errdefs.Index("extra_dhcp_opts", i)
		switch {
		case strings.TrimSpace(o.OptName) == "":
			errs = append(errs, errdefs.Invalid(path+".opt_name", "required"))
			continue
		case o.IPVersion != 0 && o.IPVersion != 4 && o.IPVersion != 6:
			errs = append(errs, errdefs.Invalid(path+".ip_version", "%d is not 4 or 6", o.IPVersion))
			continue
		}
		k := key{o.OptName, o.IPVersion}
		if j, dup := seen[k]; dup {
			errs = append(errs, errdefs.Conflict(path, "option %s repeats extra_dhcp_opts[%d]", o.OptName, j))
		}
		seen[k] = i
	}
	return errors.Join(errs...)
}

// validate checks the binding profile, with paths under binding:profile.
func (pr Profile) validate() error {
	const base = "binding:profile."
	var errs []error
	switch ns := pr.NetNS; {
	case ns == "":
		if pr.IfName != "" {
			errs = append(errs, errdefs.Invalid(base+"ifname", "needs netns: a tap port's name is Neutron's tap<port-id>"))
		}
		if pr.ConfigureIPs {
			errs = append(errs, errdefs.Invalid(base+"configure_ips", "needs netns: Neutrino configures addresses only inside a namespace it moves the port into"))
		}
	case strings.ContainsRune(ns, 0):
		errs = append(errs, errdefs.Invalid(base+"netns", "%q contains a NUL byte", ns))
	case strings.Contains(ns, "/") && !strings.HasPrefix(ns, "/"):
		errs = append(errs, errdefs.Invalid(base+"netns", "%q: give an absolute path or a bare name under /run/netns", ns))
	case ns == "." || ns == "..":
		errs = append(errs, errdefs.Invalid(base+"netns", "%q is not a namespace name", ns))
	}
	if pr.IfName != "" && !naming.ValidIfName(pr.IfName) {
		errs = append(errs, errdefs.Invalid(base+"ifname", "%q is not a Linux interface name (1-15 bytes, no '/', ':' or spaces)", pr.IfName))
	}
	return errors.Join(errs...)
}
