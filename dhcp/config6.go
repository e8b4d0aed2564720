package dhcp

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/neutrino-net/neutrino/subnet"
)

type table6 struct {
	serverID dhcpv6.DUID // DUID-LL of the DHCP port's MAC
	subnets  []*subnet6
	hosts    map[macKey]*host6
}

type subnet6 struct {
	id       string
	prefix   netip.Prefix
	stateful bool
}

type host6 struct {
	portID string
	addrs  []lease6 // stateful subnets only
	plain  []dhcpv6.Option
	ipxe   []dhcpv6.Option // nil: plain
}

type lease6 struct {
	ip netip.Addr
	sn *subnet6
}

// mode6 says how a subnet is served over DHCPv6 (Neutron emits a dnsmasq
// range for stateful, stateless, or no mode; nothing for slaac or prefixes
// shorter than /64).
func mode6(sn *subnet.Subnet) (served, stateful bool) {
	if sn.IPVersion != 6 || !sn.CIDR.Addr().Is6() || !sn.DHCPEnabled() || sn.CIDR.Bits() < 64 {
		return false, false
	}
	switch sn.IPv6AddressMode {
	case subnet.ModeSLAAC:
		return false, false
	case subnet.ModeDHCPv6Stateless:
		return true, false
	}
	return true, true
}

func (b *builder) table6(clients []client, server map[string]netip.Addr, c *Config) *table6 {
	t := &table6{
		serverID: &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: c.MAC},
		hosts:    map[macKey]*host6{},
	}
	dnsOf := map[string][]netip.Addr{}
	domainOf := map[string]string{}
	self := netip.IPv6Unspecified() // what "::" in an extra option stands for
	for i := range b.subnets {
		sn := &b.subnets[i]
		served, stateful := mode6(sn)
		if !served {
			continue
		}
		t.subnets = append(t.subnets, &subnet6{id: sn.ID, prefix: sn.CIDR.Masked(), stateful: stateful})
		for _, a := range sn.DNSNameservers {
			if a.Is6() && !a.IsUnspecified() {
				dnsOf[sn.ID] = append(dnsOf[sn.ID], a)
			}
		}
		domainOf[sn.ID] = b.domain(sn)
		if a, ok := server[sn.ID]; ok && self.IsUnspecified() {
			self = a
		}
		c.subnets[sn.ID] = fmt.Sprintf("v6 stateful=%v dns=%v domain=%s", stateful, dnsOf[sn.ID], domainOf[sn.ID])
	}
	if len(t.subnets) == 0 {
		return t
	}
	for _, cl := range clients {
		p := cl.p
		h := &host6{portID: p.ID}
		// Options come from every stateless subnet (every port has a SLAAC
		// address there) and every stateful subnet the port has an address on.
		on := map[string]bool{}
		for _, s6 := range t.subnets {
			on[s6.id] = !s6.stateful
		}
		for _, f := range p.FixedIPs {
			for _, s6 := range t.subnets {
				if s6.id != f.SubnetID || !s6.prefix.Contains(f.IPAddress) {
					continue
				}
				on[s6.id] = true
				if s6.stateful {
					h.addrs = append(h.addrs, lease6{ip: f.IPAddress, sn: s6})
				}
			}
		}
		var dns []netip.Addr
		domain := ""
		for _, s6 := range t.subnets {
			if !on[s6.id] {
				continue
			}
			dns = append(dns, dnsOf[s6.id]...)
			if domain == "" {
				domain = domainOf[s6.id]
			}
		}
		base := map[uint16][]byte{}
		if len(dns) > 0 {
			var v []byte
			for _, a := range dedupAddrs(dns) {
				v = append(v, a.AsSlice()...)
			}
			base[uint16(dhcpv6.OptionDNSRecursiveNameServer)] = v
		}
		if domain != "" {
			if v, err := encodeNames(domain); err == nil {
				base[uint16(dhcpv6.OptionDomainSearchList)] = v
			}
		}
		tagged := false
		for _, e := range cl.extras {
			tagged = tagged || (e.v6 && e.tag != tagNone)
		}
		h.plain = options6(applyExtras6(base, cl.extras, tagNotIPXE, self))
		if tagged {
			h.ipxe = options6(applyExtras6(base, cl.extras, tagIPXE, self))
		}
		t.hosts[cl.key] = h
		c.ports[p.ID] = portPrint(p, cl.extras)
	}
	return t
}

func dedupAddrs(in []netip.Addr) []netip.Addr {
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, a := range in {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func applyExtras6(base map[uint16][]byte, extras []extraOpt, tag string, self netip.Addr) map[uint16][]byte {
	out := make(map[uint16][]byte, len(base))
	for k, v := range base {
		out[k] = v
	}
	for _, e := range extras {
		if !e.v6 || (e.tag != tagNone && e.tag != tag) {
			continue
		}
		if e.remove {
			delete(out, e.code)
			continue
		}
		v, _ := e.encode(self) // validated by parseExtraOpts
		out[e.code] = v
	}
	return out
}

func options6(m map[uint16][]byte) []dhcpv6.Option {
	codes := make([]int, 0, len(m))
	for k := range m {
		codes = append(codes, int(k))
	}
	sort.Ints(codes)
	out := make([]dhcpv6.Option, 0, len(codes))
	for _, c := range codes {
		out = append(out, &dhcpv6.OptionGeneric{OptionCode: dhcpv6.OptionCode(c), OptionData: m[uint16(c)]})
	}
	return out
}
