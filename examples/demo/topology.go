package main

import (
	"net/netip"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// The demo's cloud: one node, an external network towards "upstream", three
// tenant networks behind a router with SNAT, four instances, a floating IP,
// security groups and a BGP speaker. The external subnet and tenant1/2 come
// from subnet pools in one address scope ("demo"): they are advertised by
// BGP and routed to and from upstream without NAT. tenant3 has no pool: it
// is SNATed and, being in another scope (none), cut off from tenant1/2 by
// the router. IDs differ in their first 11 characters, which is what
// device names keep.
const (
	scopeID    = "5c0e0001-0000-4000-8000-000000000001"
	poolExtID  = "900e0001-0000-4000-8000-000000000001"
	poolTenID  = "900e0002-0000-4000-8000-000000000002"
	netExtID   = "e0e00001-0000-4000-8000-000000000001"
	netT1ID    = "a1a10001-0000-4000-8000-000000000001"
	netT2ID    = "a2a20002-0000-4000-8000-000000000002"
	netT3ID    = "a3a30003-0000-4000-8000-000000000003"
	subExtID   = "5e0e0001-0000-4000-8000-000000000001"
	subT1ID    = "5a1a0001-0000-4000-8000-000000000001"
	subT2ID    = "5a2a0002-0000-4000-8000-000000000002"
	subT3ID    = "5a3a0003-0000-4000-8000-000000000003"
	routerID   = "40e70001-0000-4000-8000-000000000001"
	portGwID   = "0a600001-0000-4000-8000-000000000001"
	portIf1ID  = "0a1f0001-0000-4000-8000-000000000001"
	portIf2ID  = "0a2f0002-0000-4000-8000-000000000002"
	portIf3ID  = "0a3f0003-0000-4000-8000-000000000003"
	portD1ID   = "0d1c0001-0000-4000-8000-000000000001"
	portD2ID   = "0d2c0002-0000-4000-8000-000000000002"
	portD3ID   = "0d3c0003-0000-4000-8000-000000000003"
	portVM1ID  = "0f010001-0000-4000-8000-000000000001"
	portVM2ID  = "0f020002-0000-4000-8000-000000000002"
	portVM3ID  = "0f030003-0000-4000-8000-000000000003"
	portVM4ID  = "0f040004-0000-4000-8000-000000000004"
	fipID      = "f1f00001-0000-4000-8000-000000000001"
	sgDefault  = "5d0f0001-0000-4000-8000-000000000001"
	sgWeb      = "5eb00001-0000-4000-8000-000000000001"
	speakerID  = "b6b50001-0000-4000-8000-000000000001"
	peerID     = "b6b90001-0000-4000-8000-000000000001"
	nodeName   = "node1"
	physnet    = "physnet1"
	extIface   = "ext0" // the node's end of the link to upstream, mapped to physnet1
	localAS    = 64512
	upstreamAS = 64513
	webPort    = 8080 // allowed by the "web" group
	closedPort = 9090 // listened on, but no rule allows it
	svcPort    = 7000 // upstream's TCP service
	dnsServer  = "192.0.2.53"
	dnsDomain  = "demo.example."
)

var (
	mgmtNode     = netip.MustParsePrefix("198.18.0.1/30") // BGP session and VXLAN underlay
	mgmtUpstream = netip.MustParsePrefix("198.18.0.2/30")
	upstreamExt  = netip.MustParsePrefix("203.0.113.254/24")
	gatewayIP    = netip.MustParseAddr("203.0.113.10")
	floatingIP   = netip.MustParseAddr("203.0.113.20")
)

// instance is one simulated VM: a namespace whose eth0 is a Neutrino port.
type instance struct {
	name, portID, mac string
	netID, subnetID   string
	ip                netip.Addr
	gateway           netip.Addr
}

var instances = []instance{
	{"vm1", portVM1ID, "fa:16:3e:00:01:11", netT1ID, subT1ID, netip.MustParseAddr("10.0.1.11"), netip.MustParseAddr("10.0.1.1")},
	{"vm2", portVM2ID, "fa:16:3e:00:01:12", netT1ID, subT1ID, netip.MustParseAddr("10.0.1.12"), netip.MustParseAddr("10.0.1.1")},
	{"vm3", portVM3ID, "fa:16:3e:00:02:13", netT2ID, subT2ID, netip.MustParseAddr("10.0.2.13"), netip.MustParseAddr("10.0.2.1")},
	{"vm4", portVM4ID, "fa:16:3e:00:03:14", netT3ID, subT3ID, netip.MustParseAddr("10.0.3.14"), netip.MustParseAddr("10.0.3.1")},
}

func ptr[T any](v T) *T { return &v }

func fixed(subnetID, ip string) []port.FixedIP {
	return []port.FixedIP{{SubnetID: subnetID, IPAddress: netip.MustParseAddr(ip)}}
}

// buildTopology returns the demo's desired state; prefix is the namespace
// prefix of the instances.
func buildTopology(prefix string) *neutrino.Topology {
	t := &neutrino.Topology{
		AddressScopes: []ipam.AddressScope{{ID: scopeID, Name: "demo", IPVersion: 4}},
		SubnetPools: []ipam.SubnetPool{
			{ID: poolExtID, Name: "public", Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, AddressScopeID: scopeID, IPVersion: 4, DefaultPrefixLen: 24},
			{ID: poolTenID, Name: "tenants", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}, AddressScopeID: scopeID, IPVersion: 4, DefaultPrefixLen: 24},
		},
		Networks: []network.Network{
			{ID: netExtID, Name: "public", External: true, MTU: 1500, NetworkType: network.TypeFlat, PhysicalNetwork: physnet},
			{ID: netT1ID, Name: "tenant1", MTU: 1450, NetworkType: network.TypeVXLAN, SegmentationID: 101, DNSDomain: dnsDomain},
			{ID: netT2ID, Name: "tenant2", MTU: 1450, NetworkType: network.TypeVXLAN, SegmentationID: 102, DNSDomain: dnsDomain},
			{ID: netT3ID, Name: "tenant3", MTU: 1450, NetworkType: network.TypeVXLAN, SegmentationID: 103, DNSDomain: dnsDomain},
		},
		Subnets: []subnet.Subnet{
			{ID: subExtID, Name: "public-v4", NetworkID: netExtID, IPVersion: 4, CIDR: netip.MustParsePrefix("203.0.113.0/24"),
				GatewayIP: upstreamExt.Addr(), EnableDHCP: ptr(false), SubnetPoolID: poolExtID,
				AllocationPools: []ipam.Range{{Start: netip.MustParseAddr("203.0.113.10"), End: netip.MustParseAddr("203.0.113.200")}}},
			{ID: subT1ID, Name: "tenant1-v4", NetworkID: netT1ID, IPVersion: 4, CIDR: netip.MustParsePrefix("10.0.1.0/24"),
				GatewayIP: netip.MustParseAddr("10.0.1.1"), DNSNameservers: []netip.Addr{netip.MustParseAddr(dnsServer)}, SubnetPoolID: poolTenID},
			{ID: subT2ID, Name: "tenant2-v4", NetworkID: netT2ID, IPVersion: 4, CIDR: netip.MustParsePrefix("10.0.2.0/24"),
				GatewayIP: netip.MustParseAddr("10.0.2.1"), DNSNameservers: []netip.Addr{netip.MustParseAddr(dnsServer)}, SubnetPoolID: poolTenID},
			// No subnet pool, so no address scope: SNATed, not advertised.
			{ID: subT3ID, Name: "tenant3-v4", NetworkID: netT3ID, IPVersion: 4, CIDR: netip.MustParsePrefix("10.0.3.0/24"),
				GatewayIP: netip.MustParseAddr("10.0.3.1"), DNSNameservers: []netip.Addr{netip.MustParseAddr(dnsServer)}},
		},
		Routers: []router.Router{{ID: routerID, Name: "router1", ExternalGatewayInfo: &router.GatewayInfo{
			NetworkID: netExtID, EnableSNAT: ptr(true),
			ExternalFixedIPs: []port.FixedIP{{SubnetID: subExtID, IPAddress: gatewayIP}},
		}}},
		Ports: []port.Port{
			{ID: portGwID, NetworkID: netExtID, MACAddress: port.MustParseMAC("fa:16:3e:00:00:10"), FixedIPs: fixed(subExtID, gatewayIP.String()),
				DeviceOwner: port.OwnerRouterGateway, DeviceID: routerID, HostID: nodeName},
			{ID: portIf1ID, NetworkID: netT1ID, MACAddress: port.MustParseMAC("fa:16:3e:00:01:01"), FixedIPs: fixed(subT1ID, "10.0.1.1"),
				DeviceOwner: port.OwnerRouterInterface, DeviceID: routerID, HostID: nodeName},
			{ID: portIf2ID, NetworkID: netT2ID, MACAddress: port.MustParseMAC("fa:16:3e:00:02:01"), FixedIPs: fixed(subT2ID, "10.0.2.1"),
				DeviceOwner: port.OwnerRouterInterface, DeviceID: routerID, HostID: nodeName},
			{ID: portIf3ID, NetworkID: netT3ID, MACAddress: port.MustParseMAC("fa:16:3e:00:03:01"), FixedIPs: fixed(subT3ID, "10.0.3.1"),
				DeviceOwner: port.OwnerRouterInterface, DeviceID: routerID, HostID: nodeName},
			{ID: portD1ID, NetworkID: netT1ID, MACAddress: port.MustParseMAC("fa:16:3e:00:01:02"), FixedIPs: fixed(subT1ID, "10.0.1.2"),
				DeviceOwner: port.OwnerDHCP, DeviceID: "dhcp-" + netT1ID, HostID: nodeName},
			{ID: portD2ID, NetworkID: netT2ID, MACAddress: port.MustParseMAC("fa:16:3e:00:02:02"), FixedIPs: fixed(subT2ID, "10.0.2.2"),
				DeviceOwner: port.OwnerDHCP, DeviceID: "dhcp-" + netT2ID, HostID: nodeName},
			{ID: portD3ID, NetworkID: netT3ID, MACAddress: port.MustParseMAC("fa:16:3e:00:03:02"), FixedIPs: fixed(subT3ID, "10.0.3.2"),
				DeviceOwner: port.OwnerDHCP, DeviceID: "dhcp-" + netT3ID, HostID: nodeName},
		},
		FloatingIPs: []router.FloatingIP{{ID: fipID, FloatingIPAddress: floatingIP, FloatingNetworkID: netExtID,
			PortID: portVM1ID, FixedIPAddress: instances[0].ip, RouterID: routerID}},
		SecurityGroups: []secgroup.SecurityGroup{
			secgroup.DefaultGroup(sgDefault),
			{ID: sgWeb, Name: "web", Rules: []secgroup.Rule{
				{ID: "5eb0a001-0000-4000-8000-000000000001", Direction: secgroup.Ingress, Ethertype: secgroup.IPv4, Protocol: "tcp",
					PortRangeMin: ptr(webPort), PortRangeMax: ptr(webPort), RemoteIPPrefix: netip.MustParsePrefix("0.0.0.0/0")},
				{ID: "5eb0a002-0000-4000-8000-000000000002", Direction: secgroup.Ingress, Ethertype: secgroup.IPv4, Protocol: "icmp",
					RemoteIPPrefix: netip.MustParsePrefix("0.0.0.0/0")},
			}},
		},
		BGPPeers: []bgp.Peer{{ID: peerID, Name: "upstream", PeerIP: mgmtUpstream.Addr(), RemoteAS: upstreamAS, AuthType: bgp.AuthNone}},
		BGPSpeakers: []bgp.Speaker{{ID: speakerID, Name: "speaker1", LocalAS: localAS, IPVersion: 4,
			Networks: []string{netExtID}, Peers: []string{peerID}}},
		Hosts: []neutrino.Host{{Name: nodeName, TunnelIP: mgmtNode.Addr(), BGPSpeakers: []string{speakerID}}},
	}
	for _, vm := range instances {
		t.Ports = append(t.Ports, port.Port{
			ID: vm.portID, Name: vm.name, NetworkID: vm.netID, MACAddress: port.MustParseMAC(vm.mac),
			FixedIPs: fixed(vm.subnetID, vm.ip.String()), DeviceOwner: "compute:nova", DeviceID: vm.name,
			HostID: nodeName, DNSName: vm.name, SecurityGroups: []string{sgDefault, sgWeb},
			Profile: port.Profile{NetNS: "/run/netns/" + prefix + vm.name, IfName: "eth0"},
		})
	}
	t.SecurityGroups[0].Name = "default"
	return t
}

// expectedRoutes are what upstream must learn over BGP: the tenant subnets
// in the external network's address scope and the floating IP, via the
// router's gateway address; not tenant3, which is in no scope.
func expectedRoutes() map[string]string {
	return map[string]string{
		"10.0.1.0/24":               gatewayIP.String(),
		"10.0.2.0/24":               gatewayIP.String(),
		floatingIP.String() + "/32": gatewayIP.String(),
	}
}
