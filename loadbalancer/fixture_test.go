package loadbalancer

import (
	"net/netip"

	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

func ptr[T any](v T) *T { return &v }

// fixture is one load balancer on 100.64.1.0/24 with a TCP listener, an
// HTTP listener with an L7 policy, a UDP listener, three pools and a monitor.
func fixture() Desired {
	mac, _ := port.ParseMAC("fa:16:3e:00:00:10")
	return Desired{
		Networks: []network.Network{{ID: "net1", MTU: 1450}},
		Subnets: []subnet.Subnet{
			{ID: "sub1", NetworkID: "net1", IPVersion: 4, CIDR: netip.MustParsePrefix("100.64.1.0/24"), GatewayIP: netip.MustParseAddr("100.64.1.1")},
			{ID: "sub2", NetworkID: "net1", IPVersion: 4, CIDR: netip.MustParsePrefix("100.64.2.0/24"), GatewayIP: netip.MustParseAddr("100.64.2.1")},
			{ID: "other", NetworkID: "net2", IPVersion: 4, CIDR: netip.MustParsePrefix("100.64.9.0/24")},
		},
		Ports: []port.Port{{ID: "vipport-0001", NetworkID: "net1", MACAddress: mac, DeviceOwner: port.OwnerLoadBalancer,
			HostID: "node1", FixedIPs: []port.FixedIP{{SubnetID: "sub1", IPAddress: netip.MustParseAddr("100.64.1.10")}}}},
		Collections: Collections{
			LoadBalancers: []LoadBalancer{{ID: "lb1", VIPPortID: "vipport-0001", VIPSubnetID: "sub1"}},
			Listeners: []Listener{
				{ID: "tcp80", LoadBalancerID: "lb1", Protocol: ProtocolTCP, ProtocolPort: 80, DefaultPoolID: "web"},
				{ID: "http8080", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, ProtocolPort: 8080, DefaultPoolID: "webhttp"},
				{ID: "udp53", LoadBalancerID: "lb1", Protocol: ProtocolUDP, ProtocolPort: 53, DefaultPoolID: "dns"},
			},
			Pools: []Pool{
				{ID: "web", ListenerID: "tcp80", Protocol: ProtocolTCP, LBAlgorithm: RoundRobin},
				{ID: "webhttp", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, LBAlgorithm: RoundRobin},
				{ID: "api", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, LBAlgorithm: LeastConnections},
				{ID: "dns", LoadBalancerID: "lb1", Protocol: ProtocolUDP, LBAlgorithm: SourceIP},
			},
			Members: []Member{
				{ID: "m1", PoolID: "web", Address: netip.MustParseAddr("100.64.1.21"), ProtocolPort: 8000, Weight: ptr(3)},
				{ID: "m2", PoolID: "web", Address: netip.MustParseAddr("100.64.2.22"), ProtocolPort: 8000},
				{ID: "m3", PoolID: "webhttp", Address: netip.MustParseAddr("100.64.1.21"), ProtocolPort: 8000},
				{ID: "m4", PoolID: "api", Address: netip.MustParseAddr("100.64.1.22"), ProtocolPort: 9000},
				{ID: "m5", PoolID: "dns", Address: netip.MustParseAddr("100.64.1.23"), ProtocolPort: 53},
			},
			HealthMonitors: []HealthMonitor{{ID: "hm1", PoolID: "web", Type: MonitorTCP, Delay: 1, Timeout: 1, MaxRetries: 2, MaxRetriesDown: 2}},
			L7Policies: []L7Policy{{ID: "pol1", ListenerID: "http8080", Action: ActionRedirectToPool, RedirectPoolID: "api", Position: 1,
				Rules: []L7Rule{{Type: RulePath, CompareType: CompareStartsWith, Value: "/api"}}}},
		},
	}
}
