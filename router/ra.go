package router

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/ra"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// linkLocalPrefix is where the kernel forms an interface's link-local
// address, the source of its router advertisements.
var linkLocalPrefix = netip.MustParsePrefix("fe80::/64")

// raLink decides what a router interface advertises, as Neutron's radvd
// configuration does: one RA per interface, with every one of its subnets
// that has an ipv6_ra_mode (a subnet with only ipv6_address_mode is on a
// link where an external router advertises: nothing is sent for it). Nil
// when the interface advertises nothing: gateway ports, ports that are
// down, interfaces without such subnets. Domain is the subnet's or the
// network's dns_domain; "" lets the realizer's default apply.
func (d *Desired) raLink(ix *index, p *port.Port, n *network.Network) *ra.Link {
	if p.DeviceOwner != port.OwnerRouterInterface || !p.Up() {
		return nil
	}
	l := &ra.Link{MAC: p.MACAddress.HardwareAddr(), MTU: n.MTU}
	for _, f := range p.FixedIPs {
		s := &d.Subnets[ix.subnets[f.SubnetID]]
		if !s.CIDR.Addr().Is6() || s.IPv6RAMode == "" || slices.ContainsFunc(l.Prefixes, func(q ra.Prefix) bool { return q.CIDR == s.CIDR }) {
			continue
		}
		l.Prefixes = append(l.Prefixes, ra.Prefix{CIDR: s.CIDR.Masked(), Mode: ra.Mode(s.IPv6RAMode), DNS: s.DNSNameservers})
		if l.Domain == "" {
			l.Domain = raDomain(s, n)
		}
	}
	if len(l.Prefixes) == 0 {
		return nil
	}
	l.Source, _ = ipam.SLAAC(linkLocalPrefix, l.MAC)
	slices.SortFunc(l.Prefixes, func(a, b ra.Prefix) int { return comparePrefix(a.CIDR, b.CIDR) })
	return l
}

// raDomain is the domain the DHCP server hands out too: the subnet's
// dns_domain, else the network's.
func raDomain(s *subnet.Subnet, n *network.Network) string {
	if s.DNSDomain != "" {
		return strings.TrimSuffix(s.DNSDomain, ".")
	}
	return strings.TrimSuffix(n.DNSDomain, ".")
}

// gatewayAcceptRA decides net.ipv6.conf.<qg>.accept_ra for a gateway port
// with IPv6 addresses, as Neutron's _configure_ipv6_params_on_gw: 2 (learn
// the default route from upstream RAs although the namespace forwards) when
// none of its IPv6 subnets has a gateway_ip, 0 otherwise (the static
// default route serves). "" for other ports: their setting is left alone.
func (d *Desired) gatewayAcceptRA(ix *index, p *port.Port) string {
	if p.DeviceOwner != port.OwnerRouterGateway {
		return ""
	}
	v6, gw := false, false
	for _, f := range p.FixedIPs {
		s := &d.Subnets[ix.subnets[f.SubnetID]]
		if s.CIDR.Addr().Is6() {
			v6 = true
			gw = gw || s.HasGateway()
		}
	}
	switch {
	case !v6:
		return ""
	case gw:
		return "0"
	}
	return "2"
}

// DefaultDNSDomain is the DNS search domain router advertisements carry
// when neither subnet nor network names one: Neutron's dns_domain default,
// which the DHCP server hands out too.
const DefaultDNSDomain = "openstacklocal"

// raOptions configure router advertisements.
type raOptions struct {
	timing ra.Timing
	domain string
	off    bool
}

// WithRouterAdvertisements sets the interval bounds of unsolicited router
// advertisements (default: Neutron's radvd settings, MinRtrAdvInterval
// 30 s and MaxRtrAdvInterval 100 s); the router lifetime advertised is
// three max intervals. A max of 0 turns router advertisements off; other
// bounds that RFC 4861 would not accept make NewRealizer fail.
func WithRouterAdvertisements(minInterval, maxInterval time.Duration) Option {
	return func(o *options) error {
		if maxInterval == 0 {
			o.ra.off = true
			return nil
		}
		t := ra.DefaultTiming()
		t.MinInterval, t.MaxInterval = minInterval, maxInterval
		if err := t.Validate(); err != nil {
			return errdefs.Invalid("router_advertisements", "%v", err)
		}
		o.ra.timing = t
		return nil
	}
}

// WithDNSDomain sets the DNS search domain router advertisements carry
// when neither subnet nor network names one (default "openstacklocal").
func WithDNSDomain(domain string) Option {
	return func(o *options) error {
		o.ra.domain = strings.TrimSuffix(domain, ".")
		return nil
	}
}
