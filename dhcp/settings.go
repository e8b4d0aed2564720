package dhcp

import "time"

// Neutron's DHCP agent defaults.
const (
	// DefaultLeaseTime is dhcp_lease_duration's default.
	DefaultLeaseTime = 86400 * time.Second
	// DefaultDNSDomain is dns_domain's default.
	DefaultDNSDomain = "openstacklocal"
)

// MetadataAddress is the instance metadata service, routed through DHCP's
// classless static routes.
const MetadataAddress = "169.254.169.254"

// MetadataAddressV6 is its IPv6 counterpart, link-local on the DHCP port.
const MetadataAddressV6 = "fe80::a9fe:a9fe"

// Settings are the node-wide choices Neutron's DHCP agent reads from its
// configuration file. The zero value means Neutron's defaults.
type Settings struct {
	// LeaseTime of every IPv4 lease and IPv6 address (dhcp_lease_duration).
	// 0 means DefaultLeaseTime; a negative value means infinite leases.
	// Renewal (T1) and rebinding (T2) times are ½ and ⅞ of it (RFC 2131).
	LeaseTime time.Duration
	// DNSDomain is handed to clients (option 15, DHCPv6 domain search) when
	// neither the subnet nor the network names one (dns_domain).
	DNSDomain string
	// IsolatedMetadata routes 169.254.169.254/32 via the DHCP port on
	// subnets no router serves (enable_isolated_metadata, default false as
	// in Neutron), and puts that address (and fe80::a9fe:a9fe on a network
	// with IPv6) on the DHCP port for the metadata proxy (package
	// metadata) in the qdhcp namespace.
	IsolatedMetadata bool
	// MetadataRoute routes 169.254.169.254/32 via the gateway on subnets a
	// router serves, for a metadata proxy answering in the router (Neutron's
	// L3 agent runs one by default). Off by default: a route to an address
	// nobody answers on only delays cloud-init. Set it when something
	// serves metadata there (the agent does with its metadata service).
	MetadataRoute bool
}

func (s Settings) withDefaults() Settings {
	if s.LeaseTime == 0 {
		s.LeaseTime = DefaultLeaseTime
	}
	if s.DNSDomain == "" {
		s.DNSDomain = DefaultDNSDomain
	}
	return s
}

// leaseSeconds is the lease time on the wire; infinite is 0xffffffff.
func (s Settings) leaseSeconds() uint32 {
	if s.LeaseTime < 0 || s.LeaseTime/time.Second >= 0xffffffff {
		return 0xffffffff
	}
	return uint32(s.LeaseTime / time.Second)
}
