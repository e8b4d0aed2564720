package dhcp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// noReservationOwners are the device owners Neutron writes no DHCP host entry
// for (neutron-lib DHCP_CONFIG_NOT_REQUIRED_OWNERS).
var noReservationOwners = map[string]bool{
	"network:router_ha_interface": true,
	"network:floatingip":          true,
	"network:dhcp":                true,
	"network:distributed":         true,
}

type macKey [6]byte

func keyOf(hw []byte) (macKey, bool) {
	var k macKey
	if len(hw) != 6 {
		return k, false
	}
	copy(k[:], hw)
	return k, true
}

// Config is everything one network's DHCP server answers from. It is
// immutable once built, so a running server swaps it atomically and packets
// being handled keep the Config they started with.
type Config struct {
	// NetworkID is the network served.
	NetworkID string
	// PortID and MAC are the DHCP port's.
	PortID string
	MAC    net.HardwareAddr
	// Interface is the DHCP port's device in the qdhcp namespace (ns-<port11>).
	Interface string
	// MTU is the network's MTU (0: unknown, left to the kernel).
	MTU int
	// Addresses are the DHCP port's fixed IPs with their subnets' prefix
	// lengths (and the metadata address with Settings.IsolatedMetadata).
	Addresses []netip.Prefix
	// Gateways are the default routes of the qdhcp namespace, at most one
	// per family: the gateway of the first DHCP-enabled subnet that has one,
	// as Neutron's DeviceManager sets it, so replies reach remote relays.
	Gateways []netip.Addr

	lease uint32  // seconds; 0xffffffff is infinite
	v4    *table4 // nil when no IPv4 subnet has DHCP
	v6    *table6 // nil when no IPv6 subnet has DHCPv6

	ports   map[string]string // port ID -> fingerprint of its reservations
	subnets map[string]string // subnet ID -> fingerprint of its options
}

// HasV4 and HasV6 report whether the server answers DHCPv4 / DHCPv6.
func (c *Config) HasV4() bool { return c.v4 != nil }
func (c *Config) HasV6() bool { return c.v6 != nil }

// Reservations is the number of ports with reservations.
func (c *Config) Reservations() int { return len(c.ports) }

// Input is one network as the realizer sees it.
type Input struct {
	Network network.Network
	// Subnets of the network (others are ignored).
	Subnets []subnet.Subnet
	// Ports of the network (others are ignored), the DHCP port included.
	Ports []port.Port
	// DHCPPortID is the network:dhcp port this server runs on.
	DHCPPortID string
}

// BuildConfig validates one network's DHCP state and builds the server's
// Config. Errors carry field paths and wrap ErrInvalid, ErrConflict or
// ErrNotFound.
func BuildConfig(in Input, s Settings) (*Config, error) {
	s = s.withDefaults()
	b := &builder{in: in, s: s, subnetByID: map[string]*subnet.Subnet{}}
	return b.build()
}

type builder struct {
	in         Input
	s          Settings
	subnetByID map[string]*subnet.Subnet
	subnets    []subnet.Subnet
	errs       []error
}

func (b *builder) fail(err error) { b.errs = append(b.errs, err) }

func (b *builder) build() (*Config, error) {
	in := b.in
	for _, sn := range in.Subnets {
		if sn.NetworkID == in.Network.ID {
			b.subnets = append(b.subnets, sn)
		}
	}
	for i := range b.subnets {
		b.subnetByID[b.subnets[i].ID] = &b.subnets[i]
	}
	var dhcpPort *port.Port
	var ports []*port.Port
	for i := range in.Ports {
		p := &in.Ports[i]
		if p.NetworkID != in.Network.ID {
			continue
		}
		ports = append(ports, p)
		if p.ID == in.DHCPPortID {
			dhcpPort = p
		}
	}
	if dhcpPort == nil {
		return nil, errdefs.NotFound(portPath(in.DHCPPortID), "DHCP port is not a port of network %s", in.Network.ID)
	}
	if len(dhcpPort.MACAddress) != 6 {
		return nil, errdefs.Invalid(portPath(dhcpPort.ID)+".mac_address", "the DHCP port needs a 48-bit MAC")
	}
	c := &Config{
		NetworkID: in.Network.ID,
		PortID:    dhcpPort.ID,
		MAC:       append(net.HardwareAddr(nil), dhcpPort.MACAddress...),
		Interface: naming.DHCPInterface(dhcpPort.ID),
		MTU:       in.Network.MTU,
		lease:     b.s.leaseSeconds(),
		ports:     map[string]string{},
		subnets:   map[string]string{},
	}
	server := b.serverAddresses(dhcpPort, c)
	b.gateways(c)
	isolated := b.isolation(ports)
	clients := b.clients(ports)
	if t := b.table4(clients, server, isolated, c); len(t.subnets) > 0 {
		c.v4 = t
	}
	if t := b.table6(clients, server, c); len(t.subnets) > 0 {
		c.v6 = t
	}
	if err := errors.Join(b.errs...); err != nil {
		return nil, errdefs.Prefix(fmt.Sprintf("networks[%s]", in.Network.ID), err)
	}
	return c, nil
}

// domain is the DNS domain handed out on a subnet: the subnet's, the
// network's, then the node's.
func (b *builder) domain(sn *subnet.Subnet) string {
	switch {
	case sn.DNSDomain != "":
		return strings.TrimSuffix(sn.DNSDomain, ".")
	case b.in.Network.DNSDomain != "":
		return strings.TrimSuffix(b.in.Network.DNSDomain, ".")
	}
	return strings.TrimSuffix(b.s.DNSDomain, ".")
}

// serverAddresses collects the DHCP port's addresses: the device's, and per
// subnet the server identifier.
func (b *builder) serverAddresses(p *port.Port, c *Config) map[string]netip.Addr {
	server := map[string]netip.Addr{}
	for i, f := range p.FixedIPs {
		sn, ok := b.subnetByID[f.SubnetID]
		if !ok || !sn.CIDR.Contains(f.IPAddress) {
			b.fail(errdefs.Invalid(fmt.Sprintf("%s.fixed_ips[%d]", portPath(p.ID), i),
				"%s is not an address of a subnet of network %s", f.IPAddress, b.in.Network.ID))
			continue
		}
		if _, dup := server[sn.ID]; !dup {
			server[sn.ID] = f.IPAddress
		}
		c.Addresses = append(c.Addresses, netip.PrefixFrom(f.IPAddress, sn.CIDR.Bits()))
	}
	if b.s.IsolatedMetadata {
		c.Addresses = append(c.Addresses, netip.PrefixFrom(netip.MustParseAddr(MetadataAddress), 32))
		// Neutron's DeviceManager.setup adds the IPv6 metadata address when
		// the network has an IPv6 subnet.
		if slices.ContainsFunc(b.subnets, func(sn subnet.Subnet) bool { return sn.IPVersion == 6 }) {
			c.Addresses = append(c.Addresses, netip.PrefixFrom(netip.MustParseAddr(MetadataAddressV6), 128))
		}
	}
	return server
}

func (b *builder) gateways(c *Config) {
	have := map[bool]bool{}
	for i := range b.subnets {
		sn := &b.subnets[i]
		v6 := sn.IPVersion == 6
		if !sn.DHCPEnabled() || !sn.GatewayIP.IsValid() || have[v6] || sn.GatewayIP.Is6() != v6 {
			continue
		}
		if v6 && (sn.IPv6AddressMode == subnet.ModeSLAAC || sn.IPv6AddressMode == subnet.ModeDHCPv6Stateless) && sn.CIDR.Bits() != 64 {
			continue
		}
		have[v6] = true
		c.Gateways = append(c.Gateways, sn.GatewayIP)
	}
}

// isolation reports per subnet whether no router interface holds its
// gateway (Neutron's get_isolated_subnets).
func (b *builder) isolation(ports []*port.Port) map[string]bool {
	iso := map[string]bool{}
	for i := range b.subnets {
		iso[b.subnets[i].ID] = true
	}
	for _, p := range ports {
		if !routerInterfaceOwners[p.DeviceOwner] {
			continue
		}
		for _, f := range p.FixedIPs {
			if sn, ok := b.subnetByID[f.SubnetID]; ok && sn.GatewayIP == f.IPAddress {
				iso[sn.ID] = false
			}
		}
	}
	return iso
}

// client is a port that gets reservations, with its parsed extra options.
type client struct {
	p      *port.Port
	key    macKey
	extras []extraOpt
}

// clients validates the ports that get reservations: a 48-bit MAC unique on
// the network and valid extra options. Bad ports are reported and skipped.
func (b *builder) clients(ports []*port.Port) []client {
	var out []client
	owner := map[macKey]string{}
	for _, p := range ports {
		if noReservationOwners[p.DeviceOwner] {
			continue
		}
		k, ok := keyOf(p.MACAddress)
		if !ok {
			b.fail(errdefs.Invalid(portPath(p.ID)+".mac_address", "%q is not a 48-bit MAC", p.MACAddress))
			continue
		}
		if other, dup := owner[k]; dup {
			b.fail(errdefs.Conflict(portPath(p.ID)+".mac_address", "%s is also the MAC of port %s", p.MACAddress, other))
			continue
		}
		owner[k] = p.ID
		extras, err := parseExtraOpts(p)
		if err != nil {
			b.fail(err)
			continue
		}
		out = append(out, client{p: p, key: k, extras: extras})
	}
	return out
}

// hostname is what DHCP hands a port: its dns_name, or Neutron's
// host-<address with dashes>.
func hostname(p *port.Port, ip netip.Addr) string {
	if p.DNSName != "" {
		return p.DNSName
	}
	return "host-" + strings.NewReplacer(".", "-", ":", "-").Replace(ip.String())
}
