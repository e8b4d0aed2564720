package dhcp

import (
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// Identifiers of the test network, long enough to exercise name truncation.
const (
	netID   = "5a7e0c1e-0000-4000-8000-00000000aaaa"
	sub4ID  = "5b000004-0000-4000-8000-000000000004"
	sub6ID  = "5b000006-0000-4000-8000-000000000006"
	sub6SID = "5b000066-0000-4000-8000-000000000066"
	dhcpID  = "d0000000-0000-4000-8000-0000000000d1"
	vm1ID   = "c0000001-0000-4000-8000-000000000001"
	vm2ID   = "c0000002-0000-4000-8000-000000000002"
	rtrID   = "e0000000-0000-4000-8000-0000000000e1"
)

var (
	vm1MAC  = port.MustParseMAC("fa:16:3e:00:00:01")
	vm2MAC  = port.MustParseMAC("fa:16:3e:00:00:02")
	dhcpMAC = port.MustParseMAC("fa:16:3e:00:00:d1")
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// testInput is a network with an IPv4 subnet served by a router, a stateful
// and a stateless IPv6 subnet, a DHCP port, a router port and two instances.
func testInput() Input {
	return Input{
		Network: network.Network{ID: netID, MTU: 1450},
		Subnets: []subnet.Subnet{
			{ID: sub4ID, NetworkID: netID, IPVersion: 4, CIDR: pfx("100.64.10.0/24"), GatewayIP: addr("100.64.10.1"),
				DNSNameservers: []netip.Addr{addr("198.51.100.53"), addr("198.51.100.54")},
				HostRoutes:     []subnet.HostRoute{{Destination: pfx("198.18.0.0/16"), NextHop: addr("100.64.10.254")}}},
			{ID: sub6ID, NetworkID: netID, IPVersion: 6, CIDR: pfx("2001:db8:10::/64"), GatewayIP: addr("2001:db8:10::1"),
				IPv6AddressMode: subnet.ModeDHCPv6Stateful, IPv6RAMode: subnet.ModeDHCPv6Stateful,
				DNSNameservers: []netip.Addr{addr("2001:db8::53")}},
			{ID: sub6SID, NetworkID: netID, IPVersion: 6, CIDR: pfx("2001:db8:11::/64"), GatewayIP: addr("2001:db8:11::1"),
				IPv6AddressMode: subnet.ModeDHCPv6Stateless, IPv6RAMode: subnet.ModeDHCPv6Stateless,
				DNSNameservers: []netip.Addr{addr("2001:db8::54")}},
		},
		Ports: []port.Port{
			{ID: dhcpID, NetworkID: netID, MACAddress: dhcpMAC, DeviceOwner: port.OwnerDHCP, FixedIPs: []port.FixedIP{
				{SubnetID: sub4ID, IPAddress: addr("100.64.10.2")}, {SubnetID: sub6ID, IPAddress: addr("2001:db8:10::2")}}},
			{ID: rtrID, NetworkID: netID, MACAddress: port.MustParseMAC("fa:16:3e:00:00:e1"), DeviceOwner: port.OwnerRouterInterface,
				FixedIPs: []port.FixedIP{{SubnetID: sub4ID, IPAddress: addr("100.64.10.1")}}},
			{ID: vm1ID, NetworkID: netID, MACAddress: vm1MAC, DeviceOwner: "compute:nova", FixedIPs: []port.FixedIP{
				{SubnetID: sub4ID, IPAddress: addr("100.64.10.10")}, {SubnetID: sub6ID, IPAddress: addr("2001:db8:10::10")}}},
			{ID: vm2ID, NetworkID: netID, MACAddress: vm2MAC, DeviceOwner: "compute:nova", DNSName: "web-2",
				FixedIPs: []port.FixedIP{{SubnetID: sub4ID, IPAddress: addr("100.64.10.11")}},
				ExtraDHCPOpts: []port.ExtraDHCPOpt{{OptName: "bootfile-name", OptValue: "pxelinux.0"},
					{OptName: "tag:ipxe,bootfile-name", OptValue: "http://198.51.100.9/boot.ipxe"},
					{OptName: "server-ip-address", OptValue: "198.51.100.9"},
					{OptName: "ntp-server", OptValue: "198.51.100.123"}}},
		},
		DHCPPortID: dhcpID,
	}
}

func mustConfig(t testing.TB, in Input, s Settings) *Config {
	t.Helper()
	c, err := BuildConfig(in, s)
	if err != nil {
		t.Fatalf("BuildConfig: %v", err)
	}
	return c
}
