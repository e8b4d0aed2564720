package main

import (
	"fmt"
	"net/netip"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// shape is the simulated cloud: hosts with instance ports, and tenant
// networks each spanning a few hosts, as tenants' instances cluster.
type shape struct {
	Hosts        int `json:"hosts"`
	PortsPerHost int `json:"ports_per_host"`
	HostsPerNet  int `json:"hosts_per_network"`
}

func (s shape) networks() int { return (s.Hosts + s.HostsPerNet - 1) / s.HostsPerNet }

func (s shape) validate() error {
	switch {
	case s.Hosts < 2 || s.Hosts > 60000:
		return fmt.Errorf("--nodes %d: want 2..60000", s.Hosts)
	case s.HostsPerNet < 1 || s.PortsPerHost < 1 || s.PortsPerHost*s.HostsPerNet > 250:
		return fmt.Errorf("--ports-per-node × --nodes-per-network must be 1..250 (one /24 per network)")
	}
	return nil
}

func hostName(h int) string { return fmt.Sprintf("node-%05d", h) }

// id makes a UUID whose first 11 characters are unique per kind and index.
func id(kind byte, i int) string { return fmt.Sprintf("%02x%06x-0000-4000-8000-%012x", kind, i, i) }

const kNet, kSubnet, kPort, kGroup, kRule = 0x0e, 0x5b, 0x1a, 0x90, 0xa0

func addrAdd(a netip.Addr, n int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) + uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// generate builds the document: host h's ports are on network
// h/HostsPerNet, so a port's change concerns HostsPerNet hosts.
func generate(s shape) (*neutrino.Topology, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	t := &neutrino.Topology{SecurityGroups: []secgroup.SecurityGroup{{ID: id(kGroup, 0), Name: "ssh",
		Rules: []secgroup.Rule{{ID: id(kRule, 0), Direction: secgroup.Ingress, Ethertype: secgroup.IPv4,
			Protocol: "tcp", PortRangeMin: ptr(22), PortRangeMax: ptr(22)}}}}}
	for n := range s.networks() {
		// 100.64.0.0/10 holds 16,384 /24s.
		cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(64 + n/256), byte(n % 256), 0}), 24)
		t.Networks = append(t.Networks, network.Network{ID: id(kNet, n), Name: fmt.Sprintf("tenant%d", n),
			NetworkType: network.TypeVXLAN, SegmentationID: 1000 + n})
		t.Subnets = append(t.Subnets, subnet.Subnet{ID: id(kSubnet, n), NetworkID: id(kNet, n), IPVersion: 4,
			CIDR: cidr, GatewayIP: addrAdd(cidr.Addr(), 1)})
	}
	for h := range s.Hosts {
		t.Hosts = append(t.Hosts, neutrino.Host{Name: hostName(h),
			TunnelIP: addrAdd(netip.MustParseAddr("198.18.0.0"), h+1)})
		for k := range s.PortsPerHost {
			t.Ports = append(t.Ports, instancePort(s, h, k, 0))
		}
	}
	t.Defaults()
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("generated topology: %w", err)
	}
	return t, nil
}

// instancePort is port k of host h; gen changes its name, so that a change
// is one object.
func instancePort(s shape, h, k, gen int) port.Port {
	n := h / s.HostsPerNet
	i := h*s.PortsPerHost + k
	cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(64 + n/256), byte(n % 256), 0}), 24)
	return port.Port{ID: id(kPort, i), Name: fmt.Sprintf("vm%d-%d", i, gen), NetworkID: id(kNet, n),
		MACAddress: port.MAC{0xfa, 0x16, 0x3e, byte(i >> 16), byte(i >> 8), byte(i)},
		FixedIPs: []port.FixedIP{{SubnetID: id(kSubnet, n),
			IPAddress: addrAdd(cidr.Addr(), 2+(h%s.HostsPerNet)*s.PortsPerHost+k)}},
		DeviceOwner: "compute:nova", DeviceID: fmt.Sprintf("vm-%d", i), HostID: hostName(h),
		SecurityGroups: []string{id(kGroup, 0)}}
}

func ptr[T any](v T) *T { return &v }
