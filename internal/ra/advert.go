package ra

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/mdlayher/ndp"
)

// Mode is a subnet's ipv6_ra_mode, as Neutron names it.
type Mode string

// The RA modes. They decide the flags and the prefix's autonomous bit the
// way Neutron's radvd configuration does (neutron/agent/linux/ra.py).
const (
	SLAAC           Mode = "slaac"            // A=1: addresses from the prefix
	DHCPv6Stateful  Mode = "dhcpv6-stateful"  // M=1, A=0: addresses from DHCPv6
	DHCPv6Stateless Mode = "dhcpv6-stateless" // O=1, A=1: SLAAC, options from DHCPv6
)

// Prefix is one IPv6 subnet on the link.
type Prefix struct {
	CIDR netip.Prefix
	Mode Mode
	// DNS are the subnet's dns_nameservers.
	DNS []netip.Addr
}

// Link is what one interface advertises: the input of the decision. Two
// Links are equal when they advertise the same thing (Equal).
type Link struct {
	// MAC is the interface's address, sent as the source link-layer
	// address option so that hosts need no neighbour solicitation.
	MAC net.HardwareAddr
	// Source is the interface's link-local address, the RA's source (RFC
	// 4861 §6.1.2: hosts drop RAs from other addresses).
	Source netip.Addr
	// MTU is the network's MTU; advertised when at least 1280, as Neutron's
	// AdvLinkMTU.
	MTU int
	// Prefixes are the link's subnets with an RA mode; several subnets on
	// one interface share one RA.
	Prefixes []Prefix
	// Domain is the DNS search domain (DNSSL), sent with the RDNSS of SLAAC
	// subnets; "" sends none.
	Domain string
}

// Equal reports whether a and b advertise the same thing.
func (a Link) Equal(b Link) bool {
	return slices.Equal(a.MAC, b.MAC) && a.Source == b.Source && a.MTU == b.MTU && a.Domain == b.Domain &&
		slices.EqualFunc(a.Prefixes, b.Prefixes, func(x, y Prefix) bool {
			return x.CIDR == y.CIDR && x.Mode == y.Mode && slices.Equal(x.DNS, y.DNS)
		})
}

// Validate checks what the decision relies on.
func (a Link) Validate() error {
	var errs []error
	if len(a.MAC) != 6 {
		errs = append(errs, fmt.Errorf("mac %v: not an Ethernet address", a.MAC))
	}
	if !a.Source.Is6() || !a.Source.IsLinkLocalUnicast() {
		errs = append(errs, fmt.Errorf("source %v: not an IPv6 link-local address", a.Source))
	}
	for _, p := range a.Prefixes {
		switch {
		case !p.CIDR.IsValid() || !p.CIDR.Addr().Is6() || p.CIDR.Addr().Is4In6():
			errs = append(errs, fmt.Errorf("prefix %v: not an IPv6 prefix", p.CIDR))
		case p.Mode != SLAAC && p.Mode != DHCPv6Stateful && p.Mode != DHCPv6Stateless:
			errs = append(errs, fmt.Errorf("prefix %v: mode %q is none of slaac, dhcpv6-stateful, dhcpv6-stateless", p.CIDR, p.Mode))
		}
	}
	return errors.Join(errs...)
}

// Limits of the options, as Neutron and RFC 8106 set them.
const (
	// MaxRDNSS is how many DNS servers Neutron puts in the RDNSS option.
	MaxRDNSS = 3
	// minLinkMTU is IPv6's minimum MTU: a smaller network MTU is not
	// advertised (Neutron: AdvLinkMTU only when mtu >= 1280).
	minLinkMTU = 1280
	// maxRouterLifetime is the largest router lifetime RFC 4861 allows.
	maxRouterLifetime = 9000 * time.Second
	curHopLimit       = 64 // radvd's AdvCurHopLimit
	// Prefix lifetimes: radvd's AdvValidLifetime and AdvPreferredLifetime
	// defaults (Neutron sets neither).
	validLifetime     = 86400 * time.Second
	preferredLifetime = 14400 * time.Second
)

// metadataRoute is Neutron's IPv6 metadata address; its radvd template
// always advertises a route to it (route fe80::a9fe:a9fe/128).
var metadataRoute = netip.MustParsePrefix("fe80::a9fe:a9fe/128")

// Advert decides the router advertisement of a link: a pure function of
// its subnets, the network and the timing. RAs that advertise nothing
// differ only in being absent, so callers check len(l.Prefixes) first.
func Advert(l Link, t Timing) *ndp.RouterAdvertisement {
	return advert(l, t, nil, false)
}

// Final is the last RA of a link that goes away (RFC 4861 §6.2.5): router
// lifetime 0, so hosts drop their default route through it at once, and
// every prefix, DNS server and route with lifetime 0.
func Final(l Link, t Timing) *ndp.RouterAdvertisement {
	return advert(l, t, nil, true)
}

// advert builds the RA. gone are prefixes the link no longer has, sent
// with lifetime 0 so hosts deprecate their addresses on them (the RFC 4862
// two-hour rule keeps a valid address for up to two hours, not preferred).
func advert(l Link, t Timing, gone []netip.Prefix, final bool) *ndp.RouterAdvertisement {
	life := func(d time.Duration) time.Duration {
		if final {
			return 0
		}
		return d
	}
	ra := &ndp.RouterAdvertisement{
		CurrentHopLimit: curHopLimit,
		RouterLifetime:  life(t.RouterLifetime()),
	}
	var rdnss []netip.Addr
	slaac := false
	for _, p := range l.Prefixes {
		switch p.Mode {
		case DHCPv6Stateful:
			ra.ManagedConfiguration = true
		case DHCPv6Stateless:
			ra.OtherConfiguration = true
		case SLAAC:
			slaac = true
			// Neutron takes RDNSS only from SLAAC subnets: the others'
			// hosts ask DHCPv6 for their DNS servers.
			for _, a := range p.DNS {
				if a.Is6() && !slices.Contains(rdnss, a) && len(rdnss) < MaxRDNSS {
					rdnss = append(rdnss, a)
				}
			}
		}
	}
	ra.Options = append(ra.Options, &ndp.LinkLayerAddress{Direction: ndp.Source, Addr: l.MAC})
	if l.MTU >= minLinkMTU {
		ra.Options = append(ra.Options, ndp.NewMTU(uint32(l.MTU)))
	}
	for _, p := range l.Prefixes {
		ra.Options = append(ra.Options, &ndp.PrefixInformation{
			PrefixLength:                   uint8(p.CIDR.Bits()),
			OnLink:                         true,
			AutonomousAddressConfiguration: p.Mode != DHCPv6Stateful,
			ValidLifetime:                  life(validLifetime),
			PreferredLifetime:              life(preferredLifetime),
			Prefix:                         p.CIDR.Masked().Addr(),
		})
	}
	for _, p := range gone {
		ra.Options = append(ra.Options, &ndp.PrefixInformation{
			PrefixLength: uint8(p.Bits()), OnLink: true, AutonomousAddressConfiguration: true,
			Prefix: p.Masked().Addr(),
		})
	}
	if len(rdnss) > 0 {
		ra.Options = append(ra.Options, &ndp.RecursiveDNSServer{Lifetime: life(t.OptionLifetime()), Servers: rdnss})
	}
	if slaac && l.Domain != "" {
		ra.Options = append(ra.Options, &ndp.DNSSearchList{Lifetime: life(t.OptionLifetime()), DomainNames: []string{l.Domain}})
	}
	ra.Options = append(ra.Options, &ndp.RouteInformation{
		PrefixLength:  uint8(metadataRoute.Bits()),
		Preference:    ndp.Medium,
		RouteLifetime: life(t.OptionLifetime()),
		Prefix:        metadataRoute.Addr(),
	})
	return ra
}

// gonePrefixes returns the prefixes of old that cur no longer has.
func gonePrefixes(old, cur Link) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range old.Prefixes {
		if !slices.ContainsFunc(cur.Prefixes, func(q Prefix) bool { return q.CIDR == p.CIDR }) {
			out = append(out, p.CIDR)
		}
	}
	return out
}
