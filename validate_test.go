package neutrino

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// Positions in examples/topologies/all-in-one.json.
const (
	netExt, netT1, netT2                                                      = 0, 1, 2
	subExt, subT1, subT2                                                      = 0, 1, 2
	portGW, portIf1, portIf2, portDHCP1, portDHCP2, portVM1, portVM2, portVM3 = 0, 1, 2, 3, 4, 5, 6, 7
	sgDefault, sgSSH                                                          = 0, 1
)

func load(t *testing.T, name string) *Topology {
	t.Helper()
	topo, err := LoadFile("examples/topologies/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func addr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// TestValidateRefuses mutates a valid topology, one problem at a time, and
// checks the sentinel and the field path of the error, and that the error
// names the object.
func TestValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   string // default all-in-one.json
		mutate func(*Topology)
		kind   error
		path   string
	}{
		// Identity.
		{"duplicate network ID", "", func(t *Topology) { t.Networks[netT2].ID = t.Networks[netT1].ID }, ErrConflict, "networks[2].id: "},
		{"duplicate port ID", "", func(t *Topology) { t.Ports[portVM2].ID = t.Ports[portVM1].ID }, ErrConflict, "ports[6].id: "},
		{"bridge names collide", "", func(t *Topology) {
			t.Networks[netT1].ID, t.Networks[netT2].ID = "abcdefghijk-1", "abcdefghijk-2"
		}, ErrConflict, "networks[2].id: its bridge name brqabcdefghijk"},
		{"tap names collide", "", func(t *Topology) { t.Ports[portVM2].ID = t.Ports[portVM1].ID[:11] + "-other" }, ErrConflict, "ports[6].id: its device name tap"},
		{"duplicate host", "", func(t *Topology) { t.Hosts = append(t.Hosts, Host{Name: "node1"}) }, ErrConflict, "hosts[1].name: node1 is also"},
		// Objects' own rules, prefixed with their place in the document.
		{"pool outside subnet", "", func(t *Topology) { t.Subnets[subT1].AllocationPools[0].Start = addr("10.0.0.200") }, ErrInvalid, "subnets[1].allocation_pools[0]: "},
		{"pool reversed", "", func(t *Topology) { t.Subnets[subT1].AllocationPools[0].Start = addr("10.0.1.255") }, ErrInvalid, "subnets[1].allocation_pools[0].end: "},
		{"rule port range", "", func(t *Topology) { *t.SecurityGroups[sgSSH].Rules[0].PortRangeMax = 21 }, ErrInvalid, "security_groups[1].security_group_rules[0].port_range_max: 21 is below"},
		{"rule two remotes", "", func(t *Topology) { t.SecurityGroups[sgSSH].Rules[0].RemoteGroupID = t.SecurityGroups[sgDefault].ID }, ErrInvalid, "security_groups[1].security_group_rules[0].remote_group_id: only one of"},
		{"network VNI", "", func(t *Topology) { t.Networks[netT1].SegmentationID = 1 << 24 }, ErrInvalid, "networks[1].provider:segmentation_id: VNI"},
		{"peer password without md5", "", func(t *Topology) { t.BGPPeers[0].Password = "x" }, ErrInvalid, "bgp_peers[0].password: given, but auth_type is none"},
		{"host tunnel zone", "", func(t *Topology) { t.Hosts[0].TunnelIP = addr("fe80::1%eth0") }, ErrInvalid, "hosts[0].tunnel_ip: "},
		{"subnet pool bounds", "", func(t *Topology) { t.SubnetPools[1].MinPrefixLen = 33 }, ErrInvalid, "subnetpools[1]."},
		// Networks.
		{"VNI taken", "", func(t *Topology) { t.Networks[netT2].SegmentationID = 101 }, ErrConflict, "networks[2].provider:segmentation_id: the vxlan segment is also networks[1]'s"},
		{"flat physnet taken", "", func(t *Topology) {
			n := t.Networks[netExt]
			n.ID = "second-flat"
			t.Networks = append(t.Networks, n)
		}, ErrConflict, "networks[3].provider:physical_network: the flat segment"},
		{"vxlan across hosts without tunnel", "two-node-vxlan.json", func(t *Topology) { t.Hosts[1].TunnelIP = netip.Addr{} }, ErrInvalid, "networks[0].provider:network_type: vxlan with ports on 2 hosts, but host node2 has no tunnel_ip"},
		{"IPv6 on a small MTU", "dual-stack.json", func(t *Topology) { t.Networks[1].MTU = 1279 }, ErrInvalid, "networks[1].mtu: 1279 is below 1280"},
		// Subnets.
		{"subnet on no network", "", func(t *Topology) { t.Subnets[subT2].NetworkID = "nope" }, ErrNotFound, "subnets[2].network_id: network nope does not exist"},
		{"subnets overlap", "", func(t *Topology) {
			s := t.Subnets[subT1]
			s.ID, s.CIDR, s.GatewayIP, s.AllocationPools, s.SubnetPoolID = "overlap", prefix("10.0.1.128/25"), addr("10.0.1.129"), nil, ""
			t.Subnets = append(t.Subnets, s)
		}, ErrConflict, "subnets[3].cidr: 10.0.1.128/25 overlaps subnets[1] 10.0.1.0/24"},
		{"subnet pool missing", "", func(t *Topology) { t.Subnets[subT1].SubnetPoolID = "nope" }, ErrNotFound, "subnets[1].subnetpool_id: subnet pool nope does not exist"},
		{"subnet outside its pool", "", func(t *Topology) {
			t.Subnets[subT2].SubnetPoolID = t.SubnetPools[1].ID
			t.Subnets[subT2].CIDR = prefix("10.1.2.0/24")
		}, ErrInvalid, "subnets[2].cidr"},
		{"mixed pools on a network", "", func(t *Topology) {
			s := t.Subnets[subT1]
			s.ID, s.CIDR, s.GatewayIP, s.AllocationPools, s.SubnetPoolID = "second", prefix("10.9.0.0/24"), addr("10.9.0.1"), nil, ""
			t.Subnets = append(t.Subnets, s)
		}, ErrConflict, "subnets[3].subnetpool_id: from no subnet pool, but subnets[1]"},
		// Ports.
		{"port on no network", "", func(t *Topology) { t.Ports[portVM3].NetworkID = "nope" }, ErrNotFound, "ports[7].network_id: network nope does not exist"},
		{"fixed IP on no subnet", "", func(t *Topology) { t.Ports[portVM1].FixedIPs[0].SubnetID = "nope" }, ErrNotFound, "ports[5].fixed_ips[0].subnet_id: subnet nope does not exist"},
		{"fixed IP on another network's subnet", "", func(t *Topology) { t.Ports[portVM1].FixedIPs[0].SubnetID = t.Subnets[subT2].ID }, ErrInvalid, "ports[5].fixed_ips[0].subnet_id: subnet "},
		{"fixed IP outside subnet", "", func(t *Topology) { t.Ports[portVM1].FixedIPs[0].IPAddress = addr("10.0.2.11") }, ErrInvalid, "ports[5].fixed_ips[0].ip_address: 10.0.2.11 is outside subnet"},
		{"fixed IP broadcast", "", func(t *Topology) { t.Ports[portVM1].FixedIPs[0].IPAddress = addr("10.0.1.255") }, ErrInvalid, "ports[5].fixed_ips[0].ip_address: 10.0.1.255 is not a usable address"},
		{"fixed IP used twice", "", func(t *Topology) { t.Ports[portVM2].FixedIPs[0].IPAddress = addr("10.0.1.11") }, ErrConflict, "ports[6].fixed_ips[0].ip_address: 10.0.1.11 is also a fixed IP of ports[5]"},
		{"gateway taken by an instance", "", func(t *Topology) {
			t.Ports[portIf1].FixedIPs[0].IPAddress = addr("10.0.1.254")
			t.Ports[portVM1].FixedIPs[0].IPAddress = addr("10.0.1.1")
			t.FloatingIPs[0].FixedIPAddress = addr("10.0.1.1")
		}, ErrConflict, "ports[5].fixed_ips[0].ip_address: 10.0.1.1 is the gateway of subnet"},
		{"SLAAC address not EUI-64", "dual-stack.json", func(t *Topology) { t.Ports[4].FixedIPs[2].IPAddress = addr("2001:db8:21::99") }, ErrInvalid, "ports[4].fixed_ips[2].ip_address: 2001:db8:21::99: subnet"},
		{"MAC twice on a network", "", func(t *Topology) { t.Ports[portVM2].MACAddress = t.Ports[portVM1].MACAddress }, ErrConflict, "ports[6].mac_address: fa:16:3e:00:01:0b is also the MAC of ports[5]"},
		{"bound to an unknown host", "", func(t *Topology) { t.Ports[portVM3].HostID = "node9" }, ErrNotFound, "ports[7].binding:host_id: host node9 is not in hosts"},
		{"security group missing", "", func(t *Topology) { t.Ports[portVM3].SecurityGroups[1] = "nope" }, ErrNotFound, "ports[7].security_groups[1]: security group nope does not exist"},
		{"stateful and stateless groups", "", func(t *Topology) { off := false; t.SecurityGroups[sgSSH].Stateful = &off }, ErrConflict, "ports[5].security_groups: stateful group"},
		// Routers.
		{"interface of no router", "", func(t *Topology) { t.Ports[portIf2].DeviceID = "nope" }, ErrNotFound, "ports[2].device_id: router nope does not exist"},
		{"gateway network missing", "", func(t *Topology) { t.Routers[0].ExternalGatewayInfo.NetworkID = "nope" }, ErrNotFound, "routers[0].external_gateway_info.network_id: network nope does not exist"},
		{"gateway network not external", "", func(t *Topology) { t.Networks[netExt].External = false }, ErrInvalid, "routers[0].external_gateway_info.network_id: network "},
		{"gateway without its port", "", func(t *Topology) { t.Ports[portGW].DeviceOwner = "compute:nova"; t.Ports[portGW].DeviceID = "x" }, ErrNotFound, "routers[0].external_gateway_info: no port has device_owner network:router_gateway"},
		{"second gateway port", "", func(t *Topology) {
			p := t.Ports[portGW]
			p.ID, p.MACAddress = "second-gw", port.MustParseMAC("fa:16:3e:00:00:11")
			p.FixedIPs = []port.FixedIP{{SubnetID: t.Subnets[subExt].ID, IPAddress: addr("203.0.113.11")}}
			t.Ports = append(t.Ports, p)
		}, ErrConflict, "ports[8].device_id: router "},
		{"gateway port without gateway", "", func(t *Topology) { t.Routers[0].ExternalGatewayInfo = nil; t.FloatingIPs = nil }, ErrInvalid, "ports[0].device_owner: network:router_gateway, but router"},
		{"gateway port on another network", "", func(t *Topology) {
			t.Routers[0].ExternalGatewayInfo.NetworkID = t.Networks[netT2].ID
			t.Networks[netT2].External = true
		}, ErrInvalid, "ports[0].network_id: "},
		{"external fixed IP not the port's", "", func(t *Topology) {
			t.Routers[0].ExternalGatewayInfo.ExternalFixedIPs[0].IPAddress = addr("203.0.113.12")
		}, ErrInvalid, "routers[0].external_gateway_info.external_fixed_ips[0]: 203.0.113.12 on subnet"},
		{"two interfaces on one subnet", "", func(t *Topology) {
			p := t.Ports[portIf1]
			p.ID, p.MACAddress = "second-if", port.MustParseMAC("fa:16:3e:00:01:99")
			p.FixedIPs = []port.FixedIP{{SubnetID: t.Subnets[subT1].ID, IPAddress: addr("10.0.1.99")}}
			t.Ports = append(t.Ports, p)
		}, ErrConflict, "ports[8].fixed_ips[0].subnet_id: router "},
		{"interfaces on overlapping subnets", "", func(t *Topology) {
			t.Subnets[subT2].CIDR = prefix("10.0.1.0/24")
			t.Subnets[subT2].GatewayIP = addr("10.0.1.1")
			t.Subnets[subT2].AllocationPools = nil
			for _, i := range []int{portIf2, portDHCP2, portVM3} {
				t.Ports[i].FixedIPs[0].IPAddress = addr(strings.Replace(t.Ports[i].FixedIPs[0].IPAddress.String(), "10.0.2.", "10.0.1.", 1))
			}
		}, ErrConflict, "ports[2].fixed_ips[0].subnet_id: subnet "},
		{"router on two hosts", "", func(t *Topology) {
			t.Ports[portIf2].HostID = "node2"
			t.Hosts = append(t.Hosts, Host{Name: "node2", TunnelIP: addr("198.18.0.2")})
		}, ErrConflict, "ports[2].binding:host_id: node2, but port"},
		{"route to nowhere", "", func(t *Topology) { t.Routers[0].Routes[0].NextHop = addr("192.0.2.1") }, ErrInvalid, "routers[0].routes[0].nexthop: 192.0.2.1 is on none of the router's subnets"},
		// Floating IPs.
		{"FIP network missing", "", func(t *Topology) { t.FloatingIPs[0].FloatingNetworkID = "nope" }, ErrNotFound, "floatingips[0].floating_network_id: network nope does not exist"},
		{"FIP network not external", "", func(t *Topology) { t.FloatingIPs[0].FloatingNetworkID = t.Networks[netT2].ID }, ErrInvalid, "floatingips[0].floating_network_id: network "},
		{"FIP address outside", "", func(t *Topology) { t.FloatingIPs[0].FloatingIPAddress = addr("198.51.100.50") }, ErrInvalid, "floatingips[0].floating_ip_address: 198.51.100.50 is in no subnet"},
		{"FIP address twice", "", func(t *Topology) {
			f := t.FloatingIPs[0]
			f.ID, f.PortID, f.FixedIPAddress, f.RouterID = "second-fip", "", netip.Addr{}, ""
			t.FloatingIPs = append(t.FloatingIPs, f)
		}, ErrConflict, "floatingips[1].floating_ip_address: 203.0.113.50 is also floatingips[0]'s"},
		{"FIP address is a port's", "", func(t *Topology) { t.FloatingIPs[0].FloatingIPAddress = addr("203.0.113.10") }, ErrConflict, "floatingips[0].floating_ip_address: 203.0.113.10 is also a fixed IP of port"},
		{"FIP port missing", "", func(t *Topology) { t.FloatingIPs[0].PortID = "nope" }, ErrNotFound, "floatingips[0].port_id: port nope does not exist"},
		{"FIP fixed IP not the port's", "", func(t *Topology) { t.FloatingIPs[0].FixedIPAddress = addr("10.0.1.12") }, ErrInvalid, "floatingips[0].fixed_ip_address: 10.0.1.12 is not a fixed IP of port"},
		{"FIP router missing", "", func(t *Topology) { t.FloatingIPs[0].RouterID = "nope" }, ErrNotFound, "floatingips[0].router_id: router nope does not exist"},
		{"FIP router without that gateway", "", func(t *Topology) {
			t.Routers = append(t.Routers, router.Router{ID: "lonely"})
			t.FloatingIPs[0].RouterID = "lonely"
		}, ErrInvalid, "floatingips[0].router_id: router lonely has no gateway on floating network"},
		{"FIP router not on the port's subnet", "", func(t *Topology) {
			t.FloatingIPs[0].PortID, t.FloatingIPs[0].FixedIPAddress = t.Ports[portVM3].ID, addr("10.0.2.11")
			t.Ports[portIf2].DeviceOwner, t.Ports[portIf2].DeviceID = "compute:nova", "x"
		}, ErrInvalid, "floatingips[0].router_id: router "},
		{"two FIPs on one fixed IP", "", func(t *Topology) {
			f := t.FloatingIPs[0]
			f.ID, f.FloatingIPAddress = "second-fip", addr("203.0.113.51")
			t.FloatingIPs = append(t.FloatingIPs, f)
		}, ErrConflict, "floatingips[1].fixed_ip_address: 10.0.1.11 of port"},
		// Security groups.
		{"remote group missing", "", func(t *Topology) { t.SecurityGroups[sgDefault].Rules[2].RemoteGroupID = "nope" }, ErrNotFound, "security_groups[0].security_group_rules[2].remote_group_id: security group nope does not exist"},
		{"address group missing", "", func(t *Topology) { t.AddressGroups = nil }, ErrNotFound, "security_groups[1].security_group_rules[2].remote_address_group_id: address group"},
		{"rule ID in two groups", "", func(t *Topology) { t.SecurityGroups[sgSSH].Rules[0].ID = t.SecurityGroups[sgDefault].Rules[0].ID }, ErrConflict, "security_groups[1].security_group_rules[0].id: rule ID"},
		// BGP and hosts.
		{"speaker network missing", "", func(t *Topology) { t.BGPSpeakers[0].Networks[0] = "nope" }, ErrNotFound, "bgp_speakers[0].networks[0]: network nope does not exist"},
		{"speaker peer missing", "", func(t *Topology) { t.BGPSpeakers[0].Peers[0] = "nope" }, ErrNotFound, "bgp_speakers[0].peers[0]: BGP peer nope does not exist"},
		{"peers share an address", "", func(t *Topology) {
			p := t.BGPPeers[0]
			p.ID = "peer2"
			t.BGPPeers = append(t.BGPPeers, p)
			t.BGPSpeakers[0].Peers = append(t.BGPSpeakers[0].Peers, "peer2")
		}, ErrConflict, "bgp_speakers[0].peers[1]: peer peer2 has address 203.0.113.254"},
		{"host runs a missing speaker", "", func(t *Topology) { t.Hosts[0].BGPSpeakers[0] = "nope" }, ErrNotFound, "hosts[0].bgp_speakers[0]: BGP speaker nope does not exist"},
		{"tunnel address twice", "two-node-vxlan.json", func(t *Topology) { t.Hosts[1].TunnelIP = t.Hosts[0].TunnelIP }, ErrConflict, "hosts[1].tunnel_ip: 198.18.0.1 is also the tunnel address of host node1"},
		{"scope of another family", "", func(t *Topology) { t.AddressScopes[0].IPVersion = 6 }, ErrInvalid, "subnetpools[0].address_scope_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if file == "" {
				file = "all-in-one.json"
			}
			topo := load(t, file)
			tc.mutate(topo)
			err := topo.Validate()
			switch {
			case err == nil:
				t.Fatalf("no error, want %v at %q", tc.kind, tc.path)
			case !errors.Is(err, tc.kind):
				t.Fatalf("%v\ndoes not wrap %v", err, tc.kind)
			case !strings.Contains(err.Error(), tc.path):
				t.Fatalf("%v\ndoes not name %q", err, tc.path)
			}
			checkShape(t, err)
		})
	}
}

// checkShape checks what Validate promises of every error: a flat join of
// field errors, each with a path, a sentinel, and (for document objects)
// the object named after the message.
func checkShape(t *testing.T, err error) {
	t.Helper()
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("%T is not a join", err)
	}
	for _, e := range j.Unwrap() {
		var fe *errdefs.FieldError
		if !errors.As(e, &fe) || fe != e {
			t.Errorf("%T %v is not a *FieldError", e, e)
			continue
		}
		if fe.Path == "" || fe.Msg == "" || !(errors.Is(fe, ErrInvalid) || errors.Is(fe, ErrConflict) || errors.Is(fe, ErrNotFound) || errors.Is(fe, ErrUnsupported)) {
			t.Errorf("incomplete error %#v", fe)
		}
		if !strings.HasPrefix(fe.Path, "subnetpools[") && !strings.HasSuffix(fe.Msg, ")") {
			t.Errorf("%q does not name its object", fe.Msg)
		}
	}
}

func TestValidateNamesTheObject(t *testing.T) {
	topo := load(t, "all-in-one.json")
	topo.Subnets[subT1].AllocationPools[0].Start = addr("10.0.1.1")
	err := topo.Validate()
	want := "subnets[1].gateway_ip: 10.0.1.1 is inside allocation_pools[0] 10.0.1.1-10.0.1.254 (subnet " + topo.Subnets[subT1].ID + ")"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	topo := load(t, "all-in-one.json")
	topo.Networks[netT1].MTU = 10
	topo.Ports[portVM1].NetworkID = "nope"
	topo.FloatingIPs[0].RouterID = "nope"
	err := topo.Validate()
	for _, want := range []string{"networks[1].mtu", "ports[5].network_id", "floatingips[0].router_id"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not name %s", err, want)
		}
	}
}

func TestValidateWantsDefaultsApplied(t *testing.T) {
	topo := &Topology{
		Networks: []network.Network{{ID: "n"}},
		Subnets:  []subnet.Subnet{{ID: "s", NetworkID: "n", CIDR: prefix("10.0.0.0/24")}},
		SecurityGroups: []secgroup.SecurityGroup{{ID: "g", Rules: []secgroup.Rule{
			{ID: "r", Direction: secgroup.Ingress, Ethertype: secgroup.IPv4}}}},
	}
	err := topo.Validate()
	for _, want := range []string{"networks[0].provider:network_type: not given", "subnets[0].ip_version", "subnets[0].gateway_ip: not given"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not say %s", err, want)
		}
	}
	topo.Defaults(WithTenantNetworkType(network.TypeLocal))
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := topo.Networks[0]; n.NetworkType != "local" || n.MTU != 1500 {
		t.Errorf("network defaults: %+v", n)
	}
	if s := topo.Subnets[0]; s.IPVersion != 4 || s.GatewayIP != addr("10.0.0.1") || len(s.AllocationPools) != 1 {
		t.Errorf("subnet defaults: %+v", s)
	}
	if r := topo.SecurityGroups[0].Rules[0]; r.SecurityGroupID != "g" {
		t.Errorf("rule defaults: %+v", r)
	}
}

func TestEmptyTopologyIsValid(t *testing.T) {
	if err := new(Topology).Validate(); err != nil {
		t.Fatal(err)
	}
}
