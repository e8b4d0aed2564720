package subnet

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
)

func valid4() Subnet {
	return Subnet{
		ID: "s1", NetworkID: "n1", IPVersion: 4,
		CIDR:            netip.MustParsePrefix("10.0.1.0/24"),
		GatewayIP:       netip.MustParseAddr("10.0.1.1"),
		AllocationPools: []ipam.Range{{Start: netip.MustParseAddr("10.0.1.10"), End: netip.MustParseAddr("10.0.1.200")}},
		DNSNameservers:  []netip.Addr{netip.MustParseAddr("192.0.2.53")},
		HostRoutes:      []HostRoute{{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("10.0.1.254")}},
	}
}

func valid6() Subnet {
	return Subnet{
		ID: "s6", NetworkID: "n1", IPVersion: 6,
		CIDR:       netip.MustParsePrefix("2001:db8:1::/64"),
		GatewayIP:  netip.MustParseAddr("2001:db8:1::"),
		IPv6RAMode: ModeSLAAC, IPv6AddressMode: ModeSLAAC,
	}
}

func TestValidateAcceptsNeutronShapedSubnets(t *testing.T) {
	for name, s := range map[string]Subnet{
		"v4":           valid4(),
		"v6 slaac":     valid6(),
		"no gateway":   func() Subnet { s := valid4(); s.GatewayIP, s.NoGateway = netip.Addr{}, true; return s }(),
		"ra mode only": func() Subnet { s := valid6(); s.IPv6AddressMode = ""; return s }(),
		"address only": func() Subnet {
			s := valid6()
			s.IPv6RAMode = ModeDHCPv6Stateful
			s.IPv6AddressMode = ModeDHCPv6Stateful
			return s
		}(),
		"/31 without dhcp": func() Subnet {
			s := valid4()
			s.CIDR = netip.MustParsePrefix("10.0.0.0/31")
			s.GatewayIP = netip.MustParseAddr("10.0.0.0")
			s.AllocationPools = nil
			s.HostRoutes = nil
			s.EnableDHCP = new(bool)
			return s
		}(),
		"stateful /80": func() Subnet {
			s := valid6()
			s.CIDR = netip.MustParsePrefix("2001:db8:1::/80")
			s.IPv6RAMode, s.IPv6AddressMode = ModeDHCPv6Stateful, ""
			return s
		}(),
		"dns domain": func() Subnet { s := valid4(); s.DNSDomain = "tenant.example.org."; return s }(),
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateRefusesWithSentinelAndPath(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name   string
		mutate func(*Subnet)
		kind   error
		path   string
	}{
		{"no id", func(s *Subnet) { s.ID = "" }, errdefs.ErrInvalid, "id:"},
		{"no network", func(s *Subnet) { s.NetworkID = "" }, errdefs.ErrInvalid, "network_id:"},
		{"no cidr", func(s *Subnet) { s.CIDR = netip.Prefix{} }, errdefs.ErrInvalid, "cidr: a CIDR is required"},
		{"host bits", func(s *Subnet) { s.CIDR = netip.MustParsePrefix("10.0.1.5/24") }, errdefs.ErrInvalid, "cidr: 10.0.1.5/24 has host bits set: the network is 10.0.1.0/24"},
		{"slash zero", func(s *Subnet) { s.CIDR = netip.MustParsePrefix("0.0.0.0/0") }, errdefs.ErrInvalid, "cidr: 0.0.0.0/0: 0 is not allowed"},
		{"version 0", func(s *Subnet) { s.IPVersion = 0 }, errdefs.ErrInvalid, "ip_version: 0 is not 4 or 6"},
		{"version mismatch", func(s *Subnet) { s.IPVersion = 6 }, errdefs.ErrInvalid, "ip_version: 6 does not match"},
		{"gateway not given", func(s *Subnet) { s.GatewayIP = netip.Addr{} }, errdefs.ErrInvalid, "gateway_ip: not given"},
		{"gateway outside", func(s *Subnet) { s.GatewayIP = netip.MustParseAddr("10.0.2.1") }, errdefs.ErrInvalid, "gateway_ip: 10.0.2.1 is outside"},
		{"gateway network", func(s *Subnet) { s.GatewayIP = netip.MustParseAddr("10.0.1.0") }, errdefs.ErrInvalid, "gateway_ip: 10.0.1.0 is the network or broadcast"},
		{"gateway broadcast", func(s *Subnet) { s.GatewayIP = netip.MustParseAddr("10.0.1.255") }, errdefs.ErrInvalid, "gateway_ip: 10.0.1.255 is the network or broadcast"},
		{"gateway v6", func(s *Subnet) { s.GatewayIP = netip.MustParseAddr("2001:db8::1") }, errdefs.ErrInvalid, "gateway_ip: 2001:db8::1 is outside"},
		{"gateway in pool", func(s *Subnet) { s.GatewayIP = netip.MustParseAddr("10.0.1.20") }, errdefs.ErrConflict, "gateway_ip: 10.0.1.20 is inside allocation_pools[0]"},
		{"pool outside", func(s *Subnet) { s.AllocationPools[0].End = netip.MustParseAddr("10.0.1.255") }, errdefs.ErrInvalid, "allocation_pools[0]:"},
		{"pool reversed", func(s *Subnet) { s.AllocationPools[0].Start = netip.MustParseAddr("10.0.1.250") }, errdefs.ErrInvalid, "allocation_pools[0].end:"},
		{"pools overlap", func(s *Subnet) {
			s.AllocationPools = append(s.AllocationPools, ipam.Range{Start: netip.MustParseAddr("10.0.1.100"), End: netip.MustParseAddr("10.0.1.210")})
		}, errdefs.ErrConflict, "allocation_pools[1]:"},
		{"too many dns", func(s *Subnet) {
			for i := range 5 {
				s.DNSNameservers = append(s.DNSNameservers, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
			}
		}, errdefs.ErrInvalid, "dns_nameservers: 6 servers exceed"},
		{"dns family", func(s *Subnet) { s.DNSNameservers[0] = netip.MustParseAddr("2001:db8::53") }, errdefs.ErrInvalid, "dns_nameservers[0]: 2001:db8::53 is not an IPv4"},
		{"dns duplicate", func(s *Subnet) { s.DNSNameservers = append(s.DNSNameservers, s.DNSNameservers[0]) }, errdefs.ErrConflict, "dns_nameservers[1]:"},
		{"dns zone", func(s *Subnet) { s.DNSNameservers[0] = netip.MustParseAddr("fe80::1%eth0") }, errdefs.ErrInvalid, "dns_nameservers[0]: fe80::1%eth0: an address here cannot carry a zone"},
		{"route host bits", func(s *Subnet) { s.HostRoutes[0].Destination = netip.MustParsePrefix("198.51.100.7/24") }, errdefs.ErrInvalid, "host_routes[0].destination:"},
		{"route nexthop family", func(s *Subnet) { s.HostRoutes[0].NextHop = netip.MustParseAddr("2001:db8::1") }, errdefs.ErrInvalid, "host_routes[0].nexthop:"},
		{"route duplicate", func(s *Subnet) { s.HostRoutes = append(s.HostRoutes, s.HostRoutes[0]) }, errdefs.ErrConflict, "host_routes[1]: repeats host_routes[0]"},
		{"dhcp on /31", func(s *Subnet) {
			s.CIDR, s.GatewayIP, s.AllocationPools, s.HostRoutes = netip.MustParsePrefix("10.0.0.0/31"), netip.MustParseAddr("10.0.0.0"), nil, nil
		}, errdefs.ErrInvalid, "cidr: 10.0.0.0/31 has a prefix length that is incompatible with DHCP"},
		{"dhcp on loopback", func(s *Subnet) {
			s.CIDR, s.GatewayIP, s.AllocationPools, s.HostRoutes = netip.MustParsePrefix("127.0.0.0/8"), netip.MustParseAddr("127.0.0.1"), nil, nil
		}, errdefs.ErrInvalid, "cidr: 127.0.0.0/8 is a multicast, loopback"},
		{"v6 mode on v4", func(s *Subnet) { s.IPv6RAMode = ModeSLAAC }, errdefs.ErrInvalid, "ipv6_ra_mode: slaac cannot be set on an IPv4 subnet"},
		{"bad dns domain", func(s *Subnet) { s.DNSDomain = "-bad-.example" }, errdefs.ErrInvalid, "dns_domain:"},
	} {
		s := valid4()
		tc.mutate(&s)
		check(t, tc.name, s.Validate(), tc.kind, tc.path)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Subnet)
		kind   error
		path   string
	}{
		{"modes differ", func(s *Subnet) { s.IPv6AddressMode = ModeDHCPv6Stateless }, errdefs.ErrInvalid, "ipv6_address_mode: dhcpv6-stateless differs from ipv6_ra_mode slaac"},
		{"unknown mode", func(s *Subnet) { s.IPv6RAMode = "SLAAC" }, errdefs.ErrInvalid, `ipv6_ra_mode: "SLAAC" is not one of`},
		{"mode without dhcp", func(s *Subnet) { s.EnableDHCP = &off }, errdefs.ErrInvalid, "ipv6_ra_mode: slaac cannot be set when enable_dhcp is false"},
		{"slaac not /64", func(s *Subnet) { s.CIDR = netip.MustParsePrefix("2001:db8:1::/80") }, errdefs.ErrInvalid, "cidr: 2001:db8:1::/80: IPv6 mode slaac uses EUI-64"},
		{"v6 dhcp /127", func(s *Subnet) {
			s.CIDR, s.IPv6RAMode, s.IPv6AddressMode = netip.MustParsePrefix("2001:db8:1::/127"), "", ""
		}, errdefs.ErrInvalid, "incompatible with DHCP"},
		{"mapped cidr", func(s *Subnet) { s.CIDR = netip.MustParsePrefix("::ffff:10.0.0.0/120") }, errdefs.ErrInvalid, "cidr: ::ffff:10.0.0.0: write an IPv4 address in dotted form"},
	} {
		s := valid6()
		tc.mutate(&s)
		check(t, tc.name, s.Validate(), tc.kind, tc.path)
	}
}

func check(t *testing.T, name string, err, kind error, path string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %v at %q", name, kind, path)
	case !errors.Is(err, kind):
		t.Errorf("%s: %v does not wrap %v", name, err, kind)
	case !strings.Contains(err.Error(), path):
		t.Errorf("%s: %q does not name %q", name, err, path)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	s := Subnet{IPVersion: 5, DNSNameservers: []netip.Addr{{}}}
	err := s.Validate()
	for _, want := range []string{"id:", "network_id:", "ip_version:", "cidr:", "dns_nameservers[0]:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not name %s", err, want)
		}
	}
}

func TestValidLabelAndDomain(t *testing.T) {
	for l, want := range map[string]bool{"vm1": true, "a-b": true, "-a": false, "a-": false, "": false, strings.Repeat("a", 64): false, "a_b": false} {
		if ValidLabel(l) != want {
			t.Errorf("ValidLabel(%q) = %v", l, !want)
		}
	}
	if err := ValidateDomain("d", "."); err == nil {
		t.Error("a lone dot is not a domain")
	}
	if err := ValidateDomain("d", strings.Repeat("a.", 127)+"a"); err == nil {
		t.Error("a 255-character domain is too long")
	}
}

func FuzzSubnetValidate(f *testing.F) {
	f.Add(`{"id":"s","network_id":"n","ip_version":4,"cidr":"10.0.0.0/24","gateway_ip":"10.0.0.1","allocation_pools":[{"start":"10.0.0.2","end":"10.0.0.254"}]}`)
	f.Add(`{"id":"s","network_id":"n","ip_version":6,"cidr":"2001:db8::/64","gateway_ip":null,"ipv6_ra_mode":"slaac","ipv6_address_mode":"slaac"}`)
	f.Add(`{"cidr":"10.0.0.0/31","gateway_ip":"10.0.0.1","enable_dhcp":false,"host_routes":[{"destination":"0.0.0.0/0","nexthop":"10.0.0.0"}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var s Subnet
		if s.UnmarshalJSON([]byte(doc)) != nil {
			return
		}
		if err := s.Validate(); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		Defaults(&s)
		if err := s.Validate(); err == nil && s.CIDR.IsValid() {
			// A valid subnet's pools lie in its CIDR and miss its gateway.
			for _, p := range s.AllocationPools {
				if !s.CIDR.Contains(p.Start) || !s.CIDR.Contains(p.End) || p.Contains(s.GatewayIP) {
					t.Fatalf("valid subnet with pool %v: %+v", p, s)
				}
			}
		}
	})
}
