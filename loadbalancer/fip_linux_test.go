package loadbalancer

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/subnet"
)

// TestFloatingIPOnTheVIP: a client upstream of a router reaches the load
// balancer through a floating IP on its VIP: the router DNATs the floating
// IP to the VIP, the load balancer DNATs to a member, and the replies go
// back through the VIP's default route (the router's interface).
func TestFloatingIPOnTheVIP(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.tcpPool(RoundRobin, 1, 1)

	ext := network.Network{ID: "ext1", MTU: 1450, NetworkType: network.TypeLocal, External: true}
	extSub := subnet.Subnet{ID: "extsub", NetworkID: "ext1", IPVersion: 4, CIDR: netip.MustParsePrefix("203.0.113.0/24"),
		GatewayIP: netip.MustParseAddr("203.0.113.1")}
	nets, err := network.NewRealizer(w.host)
	require.NoError(t, err)
	allNets := append(w.d.Networks, ext)
	_, err = nets.Apply(context.Background(), network.Desired{Networks: allNets})
	require.NoError(t, err)

	mac := func(s string) port.MAC { m, _ := port.ParseMAC(s); return m }
	rd := router.Desired{
		Routers: []router.Router{{ID: "r1", ExternalGatewayInfo: &router.GatewayInfo{NetworkID: "ext1",
			ExternalFixedIPs: []port.FixedIP{{SubnetID: "extsub", IPAddress: netip.MustParseAddr("203.0.113.2")}}}}},
		Ports: []port.Port{
			{ID: "rgw-port-0001", NetworkID: "ext1", MACAddress: mac("fa:16:3e:00:02:01"), DeviceOwner: port.OwnerRouterGateway, DeviceID: "r1",
				FixedIPs: []port.FixedIP{{SubnetID: "extsub", IPAddress: netip.MustParseAddr("203.0.113.2")}}},
			{ID: "rif-port-0001", NetworkID: "net1", MACAddress: mac("fa:16:3e:00:02:02"), DeviceOwner: port.OwnerRouterInterface, DeviceID: "r1",
				FixedIPs: []port.FixedIP{{SubnetID: "sub1", IPAddress: netip.MustParseAddr("100.64.1.1")}}},
			w.d.Ports[0],
		},
		Subnets:  append(w.d.Subnets, extSub),
		Networks: allNets,
		FloatingIPs: []router.FloatingIP{{ID: "fip1", FloatingIPAddress: netip.MustParseAddr("203.0.113.50"), FloatingNetworkID: "ext1",
			PortID: "vipport-0001", FixedIPAddress: netip.MustParseAddr(vip), RouterID: "r1"}},
	}
	rr, err := router.NewRealizer(w.host, router.WithPrefix(w.l.NodePrefix("n1")), router.WithGARP(0, 0))
	require.NoError(t, err)
	t.Cleanup(func() { _ = rr.Close() })
	_, err = rr.Apply(context.Background(), rd)
	require.NoError(t, err)
	w.apply()

	// The upstream client lives on the external network.
	up := w.l.Namespace("upstream")
	br, err := w.host.Netlink().LinkByName("brqext1")
	require.NoError(t, err)
	w.l.Link(w.host, "fxup", nil, up, "eth0", []string{"203.0.113.100/24"})
	hostEnd, err := w.host.Netlink().LinkByName("fxup")
	require.NoError(t, err)
	require.NoError(t, w.host.Netlink().LinkSetMasterByIndex(hostEnd, br.Attrs().Index))

	saved := w.client
	w.client = up
	defer func() { w.client = saved }()
	const fip = "203.0.113.50"
	got := map[string]int{}
	for range 20 {
		name, err := w.greetAt(fip, 80)
		require.NoError(t, err, "through the floating IP")
		got[name]++
	}
	t.Logf("through the floating IP: %v", got)
	require.Equal(t, map[string]int{"m1": 10, "m2": 10}, got)
}
