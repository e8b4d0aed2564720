package dhcp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"

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

type table4 struct {
	subnets []*subnet4
	hosts   map[macKey]*host4
}

type subnet4 struct {
	id     string
	prefix netip.Prefix
	server netip.Addr
	opts   dhcpv4.Options
	routes []byte // the 121 payload, repeated as 249 for clients asking for it
}

type host4 struct {
	portID string
	leases []*lease4 // in fixed_ips order: the first is a non-relayed client's
}

type lease4 struct {
	ip    netip.Addr
	sn    *subnet4
	plain variant4
	ipxe  *variant4 // what iPXE clients get when tagged options differ; nil: plain
}

type variant4 struct {
	opts   dhcpv4.Options
	siaddr netip.Addr
	lease  []byte // opts encoded once, for OFFER and ACK
	inform []byte // the same without lease times, for INFORM
}

// seal encodes the options once, so that answering copies bytes instead of
// building and marshalling a map per packet.
func (v *variant4) seal() {
	v.lease = encodeOptions4(v.opts, keepAll)
	v.inform = encodeOptions4(v.opts, noLeaseTimes)
}

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

func (b *builder) table4(clients []client, server map[string]netip.Addr, isolated map[string]bool, c *Config) *table4 {
	t := &table4{hosts: map[macKey]*host4{}}
	byID := map[string]*subnet4{}
	for i := range b.subnets {
		sn := &b.subnets[i]
		if sn.IPVersion != 4 || !sn.CIDR.Addr().Is4() || !sn.DHCPEnabled() {
			continue
		}
		srv, ok := server[sn.ID]
		if !ok {
			b.fail(errdefs.Invalid(portPath(b.in.DHCPPortID)+".fixed_ips",
				"the DHCP port has no address on DHCP-enabled subnet %s", sn.ID))
			continue
		}
		opts, routes := subnetOptions4(sn, b.subnets, isolated[sn.ID], srv, b.in.Network.MTU, b.domain(sn), b.s)
		s4 := &subnet4{id: sn.ID, prefix: sn.CIDR.Masked(), server: srv, opts: opts, routes: routes}
		t.subnets = append(t.subnets, s4)
		byID[sn.ID] = s4
		c.subnets[sn.ID] = printOptions(opts)
	}
	if len(t.subnets) == 0 {
		return t
	}
	for _, cl := range clients {
		p := cl.p
		var h *host4
		for i, f := range p.FixedIPs {
			s4, ok := byID[f.SubnetID]
			if !ok {
				continue
			}
			if !s4.prefix.Contains(f.IPAddress) {
				b.fail(errdefs.Invalid(fmt.Sprintf("%s.fixed_ips[%d]", portPath(p.ID), i), "%s is not in subnet %s (%s)", f.IPAddress, s4.id, s4.prefix))
				continue
			}
			if h == nil {
				h = &host4{portID: p.ID}
				t.hosts[cl.key] = h
			}
			h.leases = append(h.leases, newLease4(p, f.IPAddress, s4, cl.extras))
		}
		if h != nil {
			c.ports[p.ID] = portPrint(p, cl.extras)
		}
	}
	return t
}

func newLease4(p *port.Port, ip netip.Addr, sn *subnet4, extras []extraOpt) *lease4 {
	l := &lease4{ip: ip, sn: sn}
	base := make(dhcpv4.Options, len(sn.opts)+2)
	for k, v := range sn.opts {
		base[k] = v
	}
	base[opt4Hostname] = []byte(hostname(p, ip))
	l.plain = variant4{opts: base}
	tagged := false
	for _, e := range extras {
		tagged = tagged || (!e.v6 && e.tag != tagNone)
	}
	if tagged {
		ipxe := variant4{opts: make(dhcpv4.Options, len(base))}
		for k, v := range base {
			ipxe.opts[k] = v
		}
		applyExtras4(&ipxe, extras, tagIPXE, sn.server)
		ipxe.seal()
		l.ipxe = &ipxe
	}
	applyExtras4(&l.plain, extras, tagNotIPXE, sn.server)
	l.plain.seal()
	return l
}

// applyExtras4 applies the untagged extra options and those tagged for this
// kind of client (tag is tagIPXE or tagNotIPXE).
func applyExtras4(v *variant4, extras []extraOpt, tag string, self netip.Addr) {
	for _, e := range extras {
		if e.v6 || (e.tag != tagNone && e.tag != tag) {
			continue
		}
		if e.kind == kindNextServer {
			v.siaddr = netip.Addr{}
			if !e.remove {
				b, _ := e.encode(self) // validated by parseExtraOpts
				if len(b) >= 4 {
					v.siaddr = netip.AddrFrom4([4]byte(b[:4]))
				}
			}
			continue
		}
		code := uint8(e.code)
		if e.remove {
			delete(v.opts, code)
			continue
		}
		b, _ := e.encode(self)
		v.opts[code] = b
	}
}

// printOptions is a stable text form of an option set, to tell whether a
// subnet's options changed.
func printOptions(o dhcpv4.Options) string {
	keys := make([]int, 0, len(o))
	for k := range o {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%d=%x;", k, o[uint8(k)])
	}
	return sb.String()
}

// portPrint is a stable text form of what a port's reservations depend on.
func portPrint(p *port.Port, extras []extraOpt) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s|%s|", p.MACAddress, p.DNSName)
	for _, f := range p.FixedIPs {
		fmt.Fprintf(&sb, "%s@%s,", f.IPAddress, f.SubnetID)
	}
	for _, e := range extras {
		fmt.Fprintf(&sb, "|%v", e)
	}
	return sb.String()
}
