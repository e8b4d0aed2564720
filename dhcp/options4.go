package dhcp

import (
	"encoding/binary"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/neutrino-net/neutrino/subnet"
)

// Option codes Neutrino sets itself.
const (
	opt4Mask       = 1
	opt4Router     = 3
	opt4DNS        = 6
	opt4Hostname   = 12
	opt4Domain     = 15
	opt4MTU        = 26
	opt4Broadcast  = 28
	opt4Requested  = 50
	opt4LeaseTime  = 51
	opt4MsgType    = 53
	opt4ServerID   = 54
	opt4ParamList  = 55
	opt4MaxMsgSize = 57
	opt4T1         = 58
	opt4T2         = 59
	opt4UserClass  = 77
	opt4AgentInfo  = 82
	opt4Classless  = 121
	opt4IPXE       = 175
	opt4MSClassles = 249 // Microsoft's classless routes (WIN2k3_STATIC_DNS in Neutron)
)

// routerInterfaceOwners are the device owners that make a subnet "not
// isolated" when they hold its gateway (Neutron's ROUTER_INTERFACE_OWNERS).
var routerInterfaceOwners = map[string]bool{
	"network:router_interface":               true,
	"network:router_interface_distributed":   true,
	"network:ha_router_replicated_interface": true,
}

type route4 struct {
	dst netip.Prefix
	gw  netip.Addr
}

// encodeRoutes4 writes RFC 3442 classless routes: prefix length, the
// significant octets of the destination, the gateway.
func encodeRoutes4(rs []route4) []byte {
	var b []byte
	for _, r := range rs {
		bits := r.dst.Bits()
		d := r.dst.Addr().As4()
		b = append(b, byte(bits))
		b = append(b, d[:(bits+7)/8]...)
		gw := r.gw.As4()
		b = append(b, gw[:]...)
	}
	return b
}

// subnetOptions4 computes the options Neutron's dnsmasq gives every host of
// an IPv4 subnet (_generate_opts_per_subnet): mask, broadcast, router (none
// without a gateway), DNS, domain, MTU, lease times, server identifier and
// classless static routes: other subnets of the network on-link first, then
// host routes, the metadata route, and the default route last, because
// RFC 3442 clients ignore the router option when option 121 is present.
// It returns the options and the 121 payload (nil when no routes).
func subnetOptions4(sn *subnet.Subnet, network []subnet.Subnet, isolated bool, server netip.Addr, mtu int, domain string, s Settings) (dhcpv4.Options, []byte) {
	o := dhcpv4.Options{}
	m := prefixMask4(sn.CIDR.Bits())
	o[opt4Mask] = m[:]
	bcast := broadcast4(sn.CIDR)
	o[opt4Broadcast] = bcast[:]

	gateway := sn.GatewayIP
	if !gateway.Is4() {
		gateway = netip.Addr{}
	}
	var routes []route4
	for _, hr := range sn.HostRoutes {
		if !hr.Destination.Addr().Is4() || !hr.NextHop.Is4() {
			continue
		}
		if hr.Destination.Bits() == 0 {
			// A default host route stands in for a missing gateway.
			if !gateway.IsValid() {
				gateway = hr.NextHop
			}
			continue
		}
		routes = append(routes, route4{hr.Destination.Masked(), hr.NextHop})
	}
	metadata := netip.PrefixFrom(netip.MustParseAddr(MetadataAddress), 32)
	switch {
	case isolated && s.IsolatedMetadata:
		routes = append(routes, route4{metadata, server})
	case !isolated && gateway.IsValid() && s.MetadataRoute:
		routes = append(routes, route4{metadata, gateway})
	}
	var onlink []route4
	for i := range network {
		other := &network[i]
		if other.IPVersion == 4 && other.CIDR.Addr().Is4() && other.CIDR != sn.CIDR {
			onlink = append(onlink, route4{other.CIDR.Masked(), netip.IPv4Unspecified()})
		}
	}
	routes = append(onlink, routes...)
	var classless []byte
	if len(routes) > 0 {
		if gateway.IsValid() {
			routes = append(routes, route4{netip.PrefixFrom(netip.IPv4Unspecified(), 0), gateway})
		}
		classless = encodeRoutes4(routes)
		o[opt4Classless] = classless
	}
	if gateway.IsValid() {
		o[opt4Router] = gateway.AsSlice()
	}

	var dns []byte
	for _, a := range sn.DNSNameservers {
		if a.Is4() {
			dns = append(dns, a.AsSlice()...)
		}
	}
	// Exactly 0.0.0.0 suppresses DNS in Neutron; with none given, dnsmasq
	// offers itself, but Neutrino serves no DNS, so nothing is offered.
	if len(dns) > 0 && !(len(dns) == 4 && netip.AddrFrom4([4]byte(dns)).IsUnspecified()) {
		o[opt4DNS] = dns
	}
	if domain != "" {
		o[opt4Domain] = []byte(domain)
	}
	if mtu >= 68 && mtu <= 0xffff {
		o[opt4MTU] = binary.BigEndian.AppendUint16(nil, uint16(mtu))
	}
	lease := s.leaseSeconds()
	o[opt4LeaseTime] = binary.BigEndian.AppendUint32(nil, lease)
	if lease != 0xffffffff {
		o[opt4T1] = binary.BigEndian.AppendUint32(nil, lease/2)
		o[opt4T2] = binary.BigEndian.AppendUint32(nil, uint32(uint64(lease)*7/8))
	}
	o[opt4ServerID] = server.AsSlice()
	return o, classless
}

func prefixMask4(bits int) [4]byte {
	v := uint32(0)
	if bits > 0 {
		v = ^uint32(0) << (32 - bits)
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return b
}

func broadcast4(p netip.Prefix) [4]byte {
	a := p.Masked().Addr().As4()
	m := prefixMask4(p.Bits())
	for i := range a {
		a[i] |= ^m[i]
	}
	return a
}
