package agent

import (
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/subnet"
)

func TestMetadataForServesRoutersAndLocalDHCPNetworks(t *testing.T) {
	off := false
	d := &Desired{
		Router: router.Desired{Routers: []router.Router{{ID: "r1"}},
			Ports: []port.Port{{ID: "ri", NetworkID: "n1", DeviceOwner: port.OwnerRouterInterface, DeviceID: "r1"}}},
		DHCP: dhcp.Desired{
			Subnets: []subnet.Subnet{
				{ID: "s1", NetworkID: "n1", IPVersion: 4, CIDR: netip.MustParsePrefix("100.64.1.0/24")},
				{ID: "s2", NetworkID: "n2", IPVersion: 4, CIDR: netip.MustParsePrefix("100.64.2.0/24")},
				{ID: "s2v6", NetworkID: "n2", IPVersion: 6, CIDR: netip.MustParsePrefix("2001:db8:2::/64")},
				{ID: "s3", NetworkID: "n3", IPVersion: 4, CIDR: netip.MustParsePrefix("100.64.3.0/24"), EnableDHCP: &off},
			},
			Ports: []port.Port{
				{ID: "ri", NetworkID: "n1", DeviceOwner: port.OwnerRouterInterface, DeviceID: "r1"},
				{ID: "d1", NetworkID: "n1", DeviceOwner: port.OwnerDHCP, HostID: "h1"},
				{ID: "d2", NetworkID: "n2", DeviceOwner: port.OwnerDHCP, HostID: "h1"},
				{ID: "d2b", NetworkID: "n2", DeviceOwner: port.OwnerDHCP, HostID: "h2"}, // another node's
				{ID: "d3", NetworkID: "n3", DeviceOwner: port.OwnerDHCP, HostID: "h1"},  // no DHCP subnet
				{ID: "vm", NetworkID: "n2", DeviceOwner: "compute:nova", DeviceID: "i", HostID: "h2"},
			},
		},
	}
	md := metadataFor(d, "h1")
	if len(md.Routers) != 1 || md.Routers[0] != "r1" {
		t.Errorf("routers %v", md.Routers)
	}
	if len(md.Networks) != 2 || md.Networks[0].ID != "n1" || md.Networks[0].IPv6 || md.Networks[1].ID != "n2" || !md.Networks[1].IPv6 || md.Networks[1].DHCPPortID != "d2" {
		t.Errorf("networks %+v", md.Networks)
	}
	if len(md.Ports) != 6 {
		t.Errorf("%d ports, want the 6 distinct ones (instances of other nodes included)", len(md.Ports))
	}
}
