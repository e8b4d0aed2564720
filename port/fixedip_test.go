package port

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/subnet"
)

func TestCheckFixedIPNamesTheFieldAndOneSentinelPerFault(t *testing.T) {
	p := &Port{ID: "p1", NetworkID: "n1"}
	s := &subnet.Subnet{ID: "s1", NetworkID: "n1", CIDR: netip.MustParsePrefix("100.64.0.0/24")}
	other := &subnet.Subnet{ID: "s2", NetworkID: "n2", CIDR: netip.MustParsePrefix("100.64.1.0/24")}
	in, out := netip.MustParseAddr("100.64.0.5"), netip.MustParseAddr("100.64.9.5")
	for _, c := range []struct {
		name  string
		s     *subnet.Subnet
		ip    netip.Addr
		field string
		want  error
	}{
		{"missing subnet", nil, in, "fixed_ips[0].subnet_id", errdefs.ErrNotFound},
		{"subnet of another network", other, in, "fixed_ips[0].subnet_id", errdefs.ErrInvalid},
		{"address outside", s, out, "fixed_ips[0].ip_address", errdefs.ErrInvalid},
	} {
		err := CheckFixedIP("fixed_ips[0]", p, FixedIP{SubnetID: "s1", IPAddress: c.ip}, c.s)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want %v at %s", c.name, err, c.want, c.field)
		}
	}
	if err := CheckFixedIP("fixed_ips[0]", p, FixedIP{SubnetID: "s1", IPAddress: in}, s); err != nil {
		t.Errorf("good fixed IP: %v", err)
	}
}
