package subnet

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/ipam"
)

func TestDefaultsFillsNeutronsValues(t *testing.T) {
	r := func(a, b string) ipam.Range {
		return ipam.Range{Start: netip.MustParseAddr(a), End: netip.MustParseAddr(b)}
	}
	for _, tc := range []struct {
		name  string
		in    Subnet
		gw    string // "" for none
		pools []ipam.Range
	}{
		{"v4", Subnet{CIDR: netip.MustParsePrefix("10.0.0.0/24")}, "10.0.0.1", []ipam.Range{r("10.0.0.2", "10.0.0.254")}},
		{"v6 anycast gateway", Subnet{CIDR: netip.MustParsePrefix("2001:db8::/64")}, "2001:db8::", []ipam.Range{r("2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff")}},
		{"from a pool", Subnet{CIDR: netip.MustParsePrefix("2001:db8::/64"), SubnetPoolID: "p"}, "2001:db8::1", []ipam.Range{r("2001:db8::2", "2001:db8::ffff:ffff:ffff:ffff")}},
		{"explicit null gateway", Subnet{CIDR: netip.MustParsePrefix("10.0.0.0/30"), NoGateway: true}, "", []ipam.Range{r("10.0.0.1", "10.0.0.2")}},
		{"/32", Subnet{CIDR: netip.MustParsePrefix("10.0.0.7/32")}, "", []ipam.Range{r("10.0.0.7", "10.0.0.7")}},
		{"given pools kept", Subnet{CIDR: netip.MustParsePrefix("10.0.0.0/24"), AllocationPools: []ipam.Range{r("10.0.0.100", "10.0.0.110")}}, "10.0.0.1", []ipam.Range{r("10.0.0.100", "10.0.0.110")}},
		{"empty pools kept", Subnet{CIDR: netip.MustParsePrefix("10.0.0.0/24"), AllocationPools: []ipam.Range{}}, "10.0.0.1", []ipam.Range{}},
		{"given gateway kept", Subnet{CIDR: netip.MustParsePrefix("10.0.0.0/24"), GatewayIP: netip.MustParseAddr("10.0.0.254")}, "10.0.0.254", []ipam.Range{r("10.0.0.1", "10.0.0.253")}},
	} {
		s := tc.in
		Defaults(&s)
		wantVersion := 4
		if s.CIDR.Addr().Is6() {
			wantVersion = 6
		}
		if s.IPVersion != wantVersion {
			t.Errorf("%s: ip_version %d", tc.name, s.IPVersion)
		}
		if tc.gw == "" {
			if s.GatewayIP.IsValid() || !s.NoGateway {
				t.Errorf("%s: gateway %v NoGateway %v, want none", tc.name, s.GatewayIP, s.NoGateway)
			}
		} else if s.GatewayIP != netip.MustParseAddr(tc.gw) {
			t.Errorf("%s: gateway %v, want %s", tc.name, s.GatewayIP, tc.gw)
		}
		if !slices.Equal(s.AllocationPools, tc.pools) || (s.AllocationPools == nil) != (tc.pools == nil) {
			t.Errorf("%s: pools %v, want %v", tc.name, s.AllocationPools, tc.pools)
		}
	}
}

func TestDefaultsThenValidate(t *testing.T) {
	s := Subnet{ID: "s", NetworkID: "n", CIDR: netip.MustParsePrefix("192.0.2.0/24")}
	if err := s.Validate(); err == nil {
		t.Fatal("a sparse subnet validated before Defaults")
	}
	Defaults(&s)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
}
