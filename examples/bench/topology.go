//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// Size is the shape of the generated cloud as one node sees it.
type Size struct {
	Routers  int `json:"routers"`  // each: 2 internal interfaces, a gateway with SNAT, 1 FIP
	Ports    int `json:"ports"`    // instance ports (taps), spread over the networks
	Networks int `json:"networks"` // VXLAN tenant networks, each with DHCP
	Rules    int `json:"rules"`    // rules per security group
	Groups   int `json:"groups"`   // security groups the instance ports are spread over
	Members  int `json:"members"`  // remote-group members in the scale variant
	FIPs     int `json:"fips"`     // floating IPs of one router in the scale variant
}

var (
	fullSize  = Size{Routers: 100, Ports: 1000, Networks: 100, Rules: 10, Groups: 10, Members: 10000, FIPs: 10000}
	quickSize = Size{Routers: 10, Ports: 100, Networks: 10, Rules: 10, Groups: 10, Members: 1000, FIPs: 1000}
)

func (s Size) validate() error {
	switch {
	case s.Networks < 1 || s.Networks > 8000:
		return fmt.Errorf("--networks %d: want 1..8000", s.Networks)
	case s.Ports < s.Networks || s.Ports > 200*s.Networks:
		return fmt.Errorf("--ports %d: want between --networks and 200 per network", s.Ports)
	case s.Routers < 1 || s.Routers > 2*s.Networks || s.Routers > 4000:
		return fmt.Errorf("--routers %d: want 1..4000 and at most two per network", s.Routers)
	case s.Rules < 1 || s.Groups < 1:
		return fmt.Errorf("--rules and --groups must be positive")
	case s.Members < 1 || s.Members > 60000 || s.FIPs < 1 || s.FIPs > 60000:
		return fmt.Errorf("--members and --fips: want 1..60000")
	}
	return nil
}

// The node the bench realizes, and the host the scale variant's remote
// ports are bound to. node2 has no tunnel address, so its ports bring no
// VXLAN forwarding entries: what they cost is only what the scenarios are
// about (remote-group set elements, NAT map elements).
const (
	nodeName   = "node1"
	remoteHost = "node2"
	physnet    = "physnet1"
	extIface   = "ext0" // the node's "physical" interface of physnet1: a veth the bench makes
	physnet2   = "physnet2"
	fipIface   = "int0" // physnet2's, for the scale variant's FIP network
)

var (
	tunnelIP   = netip.MustParseAddr("192.0.2.1")
	extCIDR    = netip.MustParsePrefix("198.18.0.0/15")
	gwBase     = netip.MustParseAddr("198.18.1.2")   // router gateways
	fipBase    = netip.MustParseAddr("198.18.64.1")  // one FIP per router
	scaleFIPs  = netip.MustParseAddr("198.18.128.1") // the scale router's FIPs
	farCIDR    = netip.MustParsePrefix("100.96.0.0/14")
	fipNetCIDR = netip.MustParsePrefix("100.112.0.0/16")
)

// id makes a UUID whose first 11 characters (what device names keep) are
// unique per kind and index.
func id(kind byte, i int) string {
	return fmt.Sprintf("%02x%06x-0000-4000-8000-%012x", kind, i, i)
}

const (
	kNet, kSubnet, kPort, kRouterPort, kDHCPPort, kGwPort = 0x0e, 0x5b, 0x1a, 0x2b, 0x3c, 0x4d
	kFarPort, kFipPort, kRouter, kFIP, kGroup, kRule      = 0x5e, 0x6f, 0x70, 0x80, 0x90, 0xa0
	kExt                                                  = 0xee
)

func addrAdd(a netip.Addr, n int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func mac(kind byte, i int) port.MAC {
	return port.MAC{0xfa, 0x16, kind, byte(i >> 16), byte(i >> 8), byte(i)}
}

func ptr[T any](v T) *T { return &v }

// tenantCIDR is network n's subnet, carved from 100.64.0.0/10 in /24s.
func tenantCIDR(n int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(64 + n/256), byte(n % 256), 0}), 24)
}

// Topologies are the documents of one run: the node-scale topology, the
// same with one instance port more, and the scale variant (a remote group
// of Members ports on another host and a router with FIPs floating IPs)
// before and after one membership change, then one floating IP more.
type Topologies struct {
	Base, BasePlusPort                   *neutrino.Topology
	Scale, ScalePlusMember, ScalePlusFIP *neutrino.Topology
}

// generate builds the run's documents.
func generate(s Size) (*Topologies, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	base := baseTopology(s)
	t := &Topologies{Base: base}
	t.BasePlusPort = clone(base)
	n := s.Ports
	t.BasePlusPort.Ports = append(t.BasePlusPort.Ports, instancePort(n, n%s.Networks, s))

	t.Scale = clone(base)
	addScale(t.Scale, s)
	t.ScalePlusMember = clone(t.Scale)
	for i := range t.ScalePlusMember.Ports {
		if p := &t.ScalePlusMember.Ports[i]; p.ID == id(kFarPort, s.Members) {
			p.SecurityGroups = []string{farGroup}
		}
	}
	t.ScalePlusFIP = clone(t.ScalePlusMember)
	t.ScalePlusFIP.FloatingIPs = append(t.ScalePlusFIP.FloatingIPs, scaleFIP(s.FIPs))
	for _, tp := range []*neutrino.Topology{t.Base, t.BasePlusPort, t.Scale, t.ScalePlusMember, t.ScalePlusFIP} {
		tp.Defaults()
		if err := tp.Validate(); err != nil {
			return nil, fmt.Errorf("generated topology: %w", err)
		}
	}
	return t, nil
}

// clone copies the collections a variant changes; the objects themselves
// are shared and never modified, except the ports a variant replaces.
func clone(t *neutrino.Topology) *neutrino.Topology {
	c := *t
	c.Networks = slices.Clone(t.Networks)
	c.Subnets = slices.Clone(t.Subnets)
	c.Ports = slices.Clone(t.Ports)
	c.Routers = slices.Clone(t.Routers)
	c.FloatingIPs = slices.Clone(t.FloatingIPs)
	c.SecurityGroups = slices.Clone(t.SecurityGroups)
	return &c
}

var (
	extNetID = id(kExt, 0)
	extSubID = id(kExt, 1)
	farGroup = id(kGroup, 0xfff0)
	farNetID = id(kNet, 0xfff0)
	farSubID = id(kSubnet, 0xfff0)
	fipNetID = id(kNet, 0xfff1)
	fipSubID = id(kSubnet, 0xfff1)
)

func baseTopology(s Size) *neutrino.Topology {
	t := &neutrino.Topology{
		Hosts: []neutrino.Host{{Name: nodeName, TunnelIP: tunnelIP}, {Name: remoteHost}},
		Networks: []network.Network{{ID: extNetID, Name: "public", External: true, MTU: 1500,
			NetworkType: network.TypeFlat, PhysicalNetwork: physnet}},
		Subnets: []subnet.Subnet{{ID: extSubID, Name: "public-v4", NetworkID: extNetID, IPVersion: 4, CIDR: extCIDR,
			GatewayIP: addrAdd(extCIDR.Addr(), 1), EnableDHCP: ptr(false)}},
	}
	for g := range s.Groups {
		t.SecurityGroups = append(t.SecurityGroups, benchGroup(id(kGroup, g), s.Rules))
	}
	// The remote group of the scale variant: referenced by every group's
	// rules, empty until the variant fills it.
	t.SecurityGroups = append(t.SecurityGroups, secgroup.SecurityGroup{ID: farGroup, Name: "far", Rules: []secgroup.Rule{
		{ID: id(kRule, 0xfff000), Direction: secgroup.Egress, Ethertype: secgroup.IPv4}}})
	for n := range s.Networks {
		cidr := tenantCIDR(n)
		t.Networks = append(t.Networks, network.Network{ID: id(kNet, n), Name: fmt.Sprintf("tenant%d", n), MTU: 1450,
			NetworkType: network.TypeVXLAN, SegmentationID: 1000 + n})
		t.Subnets = append(t.Subnets, subnet.Subnet{ID: id(kSubnet, n), NetworkID: id(kNet, n), IPVersion: 4, CIDR: cidr,
			GatewayIP: addrAdd(cidr.Addr(), 1), DNSNameservers: []netip.Addr{netip.MustParseAddr("192.0.2.53")}})
		t.Ports = append(t.Ports, port.Port{ID: id(kDHCPPort, n), NetworkID: id(kNet, n), MACAddress: mac(0x3d, n),
			FixedIPs:    []port.FixedIP{{SubnetID: id(kSubnet, n), IPAddress: addrAdd(cidr.Addr(), 2)}},
			DeviceOwner: port.OwnerDHCP, DeviceID: "dhcp-" + id(kNet, n), HostID: nodeName})
	}
	for k := range s.Ports {
		t.Ports = append(t.Ports, instancePort(k, k%s.Networks, s))
	}
	attached := map[int]int{} // routers on each network so far
	for r := range s.Routers {
		rid := id(kRouter, r)
		gw := addrAdd(gwBase, r)
		t.Routers = append(t.Routers, router.Router{ID: rid, Name: fmt.Sprintf("router%d", r),
			ExternalGatewayInfo: &router.GatewayInfo{NetworkID: extNetID, EnableSNAT: ptr(true),
				ExternalFixedIPs: []port.FixedIP{{SubnetID: extSubID, IPAddress: gw}}}})
		t.Ports = append(t.Ports, port.Port{ID: id(kGwPort, r), NetworkID: extNetID, MACAddress: mac(0x4d, r),
			FixedIPs:    []port.FixedIP{{SubnetID: extSubID, IPAddress: gw}},
			DeviceOwner: port.OwnerRouterGateway, DeviceID: rid, HostID: nodeName})
		nets := []int{r % s.Networks}
		if s.Networks > 1 {
			nets = append(nets, (r+1)%s.Networks)
		}
		for j, n := range nets {
			cidr := tenantCIDR(n)
			ip := addrAdd(cidr.Addr(), 1) // the subnet's gateway for its first router
			if attached[n] > 0 {
				ip = addrAdd(cidr.Addr(), 254-attached[n])
			}
			attached[n]++
			t.Ports = append(t.Ports, port.Port{ID: id(kRouterPort, 2*r+j), NetworkID: id(kNet, n), MACAddress: mac(0x2b, 2*r+j),
				FixedIPs:    []port.FixedIP{{SubnetID: id(kSubnet, n), IPAddress: ip}},
				DeviceOwner: port.OwnerRouterInterface, DeviceID: rid, HostID: nodeName})
		}
		// The router's FIP points at the first instance port of its first
		// network (port k sits on network k % Networks).
		target := r % s.Networks
		t.FloatingIPs = append(t.FloatingIPs, router.FloatingIP{ID: id(kFIP, r), FloatingIPAddress: addrAdd(fipBase, r),
			FloatingNetworkID: extNetID, PortID: id(kPort, target), FixedIPAddress: instanceIP(target, s), RouterID: rid})
	}
	return t
}

func instanceIP(k int, s Size) netip.Addr {
	return addrAdd(tenantCIDR(k%s.Networks).Addr(), 10+k/s.Networks)
}

func instancePort(k, n int, s Size) port.Port {
	return port.Port{ID: id(kPort, k), Name: fmt.Sprintf("vm%d", k), NetworkID: id(kNet, n), MACAddress: mac(0x3e, k),
		FixedIPs:    []port.FixedIP{{SubnetID: id(kSubnet, n), IPAddress: instanceIP(k, s)}},
		DeviceOwner: "compute:nova", DeviceID: fmt.Sprintf("vm%d", k), HostID: nodeName, DNSName: fmt.Sprintf("vm%d", k),
		SecurityGroups: []string{id(kGroup, k%s.Groups)}}
}

// benchGroup is a group of n rules of the kinds a cloud uses: ports from
// anywhere, from a prefix, a range, ICMP, its own members, the far group's
// members, and egress to anywhere.
func benchGroup(gid string, n int) secgroup.SecurityGroup {
	rule := func(dir, eth string, proto secgroup.Protocol, lo, hi *int) secgroup.Rule {
		return secgroup.Rule{Direction: dir, Ethertype: eth, Protocol: proto, PortRangeMin: lo, PortRangeMax: hi}
	}
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	rules := []secgroup.Rule{
		rule(secgroup.Egress, secgroup.IPv4, "", nil, nil),
		rule(secgroup.Egress, secgroup.IPv6, "", nil, nil),
		rule(secgroup.Ingress, secgroup.IPv4, "tcp", ptr(22), ptr(22)),
		rule(secgroup.Ingress, secgroup.IPv4, "tcp", ptr(3306), ptr(3306)),
		rule(secgroup.Ingress, secgroup.IPv4, "", nil, nil),
		rule(secgroup.Ingress, secgroup.IPv4, "tcp", ptr(80), ptr(80)),
		rule(secgroup.Ingress, secgroup.IPv4, "tcp", ptr(443), ptr(443)),
		rule(secgroup.Ingress, secgroup.IPv4, "udp", ptr(5000), ptr(5100)),
		rule(secgroup.Ingress, secgroup.IPv4, "icmp", ptr(8), nil),
		rule(secgroup.Ingress, secgroup.IPv6, "ipv6-icmp", ptr(128), nil),
	}
	rules[2].RemoteIPPrefix = any4
	rules[3].RemoteGroupID = farGroup // the scale variant's 10,000 members
	rules[4].RemoteGroupID = gid      // the group's own members, as Neutron's default group
	rules[6].RemoteIPPrefix = netip.MustParsePrefix("198.51.100.0/24")
	for len(rules) < n {
		p := 10000 + len(rules)
		rules = append(rules, rule(secgroup.Ingress, secgroup.IPv4, "tcp", ptr(p), ptr(p)))
	}
	rules = rules[:n]
	for i := range rules {
		rules[i].ID = fmt.Sprintf("%s-rule%d", gid, i)
		rules[i].SecurityGroupID = gid
	}
	return secgroup.SecurityGroup{ID: gid, Name: "bench-" + gid[:8], Rules: rules}
}

// addScale adds the scale variant to t: the far network with Members+1
// ports on remoteHost (Members of them in the far group, which every
// group's rules reference), and a third interface of router 0 on a network
// with FIPs+1 remote ports, FIPs of which have a floating IP on router 0.
// That network is flat: on a VXLAN network the remote ports would add
// 10,000 forwarding and ARP entries (l2population) to a scenario about NAT.
func addScale(t *neutrino.Topology, s Size) {
	t.Networks = append(t.Networks,
		network.Network{ID: farNetID, Name: "far", MTU: 1450, NetworkType: network.TypeVXLAN, SegmentationID: 900000},
		network.Network{ID: fipNetID, Name: "fipnet", MTU: 1500, NetworkType: network.TypeFlat, PhysicalNetwork: physnet2})
	t.Subnets = append(t.Subnets,
		subnet.Subnet{ID: farSubID, NetworkID: farNetID, IPVersion: 4, CIDR: farCIDR, GatewayIP: addrAdd(farCIDR.Addr(), 1), EnableDHCP: ptr(false)},
		subnet.Subnet{ID: fipSubID, NetworkID: fipNetID, IPVersion: 4, CIDR: fipNetCIDR, GatewayIP: addrAdd(fipNetCIDR.Addr(), 1), EnableDHCP: ptr(false)})
	for i := 0; i <= s.Members; i++ {
		p := port.Port{ID: id(kFarPort, i), NetworkID: farNetID, MACAddress: mac(0x5e, i), DeviceOwner: "compute:nova",
			FixedIPs: []port.FixedIP{{SubnetID: farSubID, IPAddress: addrAdd(farCIDR.Addr(), 10+i)}}, HostID: remoteHost}
		if i < s.Members {
			p.SecurityGroups = []string{farGroup}
		}
		t.Ports = append(t.Ports, p)
	}
	r0 := id(kRouter, 0)
	t.Ports = append(t.Ports, port.Port{ID: id(kRouterPort, 0xfff00), NetworkID: fipNetID, MACAddress: mac(0x2c, 0),
		FixedIPs:    []port.FixedIP{{SubnetID: fipSubID, IPAddress: addrAdd(fipNetCIDR.Addr(), 1)}},
		DeviceOwner: port.OwnerRouterInterface, DeviceID: r0, HostID: nodeName})
	for i := 0; i <= s.FIPs; i++ {
		t.Ports = append(t.Ports, port.Port{ID: id(kFipPort, i), NetworkID: fipNetID, MACAddress: mac(0x6f, i), DeviceOwner: "compute:nova",
			FixedIPs: []port.FixedIP{{SubnetID: fipSubID, IPAddress: fipTarget(i)}}, HostID: remoteHost})
		if i < s.FIPs {
			t.FloatingIPs = append(t.FloatingIPs, scaleFIP(i))
		}
	}
}

func fipTarget(i int) netip.Addr { return addrAdd(fipNetCIDR.Addr(), 10+i) }

func scaleFIP(i int) router.FloatingIP {
	return router.FloatingIP{ID: id(kFIP, 0x100000+i), FloatingIPAddress: addrAdd(scaleFIPs, i), FloatingNetworkID: extNetID,
		PortID: id(kFipPort, i), FixedIPAddress: fipTarget(i), RouterID: id(kRouter, 0)}
}
