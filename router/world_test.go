package router

import (
	"fmt"
	"net/netip"

	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// docBuilder writes desired-state documents for tests: IDs distinct in
// their first 11 characters (device names), MACs from one counter.
type docBuilder struct {
	n int
	d Desired
}

func (b *docBuilder) id() string {
	b.n++
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", b.n, b.n, b.n)
}

func (b *docBuilder) mac() port.MAC {
	b.n++
	return port.MAC{0xfa, 0x16, 0x3e, byte(b.n >> 16), byte(b.n >> 8), byte(b.n)}
}

// network adds a network with one subnet; gw "" means no gateway.
func (b *docBuilder) network(cidr, gw string, external bool) (netID, subnetID string) {
	netID, subnetID = b.id(), b.id()
	b.d.Networks = append(b.d.Networks, network.Network{ID: netID, MTU: 1450, External: external,
		NetworkType: network.TypeLocal})
	p := netip.MustParsePrefix(cidr)
	s := subnet.Subnet{ID: subnetID, NetworkID: netID, CIDR: p, IPVersion: 4, NoGateway: gw == ""}
	if !p.Addr().Is4() {
		s.IPVersion = 6
	}
	if gw != "" {
		s.GatewayIP = netip.MustParseAddr(gw)
	}
	b.d.Subnets = append(b.d.Subnets, s)
	return netID, subnetID
}

// addSubnet adds another subnet to a network.
func (b *docBuilder) addSubnet(netID, cidr, gw string) string {
	id := b.id()
	p := netip.MustParsePrefix(cidr)
	s := subnet.Subnet{ID: id, NetworkID: netID, CIDR: p, IPVersion: 4, GatewayIP: netip.MustParseAddr(gw)}
	if !p.Addr().Is4() {
		s.IPVersion = 6
	}
	b.d.Subnets = append(b.d.Subnets, s)
	return id
}

func (b *docBuilder) subnet(id string) *subnet.Subnet {
	for i := range b.d.Subnets {
		if b.d.Subnets[i].ID == id {
			return &b.d.Subnets[i]
		}
	}
	panic("no subnet " + id)
}

// router adds a router with a gateway port on extNet (ip on extSubnet), or
// none when extNet is "".
func (b *docBuilder) router(extNet, extSubnet, ip string) string {
	id := b.id()
	r := Router{ID: id}
	if extNet != "" {
		r.ExternalGatewayInfo = &GatewayInfo{NetworkID: extNet}
		b.port(id, port.OwnerRouterGateway, extNet, fixed(extSubnet, ip))
	}
	b.d.Routers = append(b.d.Routers, r)
	return id
}

func fixed(subnetID, ip string) port.FixedIP {
	return port.FixedIP{SubnetID: subnetID, IPAddress: netip.MustParseAddr(ip)}
}

// port adds a port and returns it (a copy).
func (b *docBuilder) port(deviceID, owner, netID string, ips ...port.FixedIP) port.Port {
	p := port.Port{ID: b.id(), NetworkID: netID, MACAddress: b.mac(), FixedIPs: ips, DeviceOwner: owner, DeviceID: deviceID}
	b.d.Ports = append(b.d.Ports, p)
	return p
}

// attach adds a router interface on a subnet with the subnet's gateway.
func (b *docBuilder) attach(routerID, subnetID string) port.Port {
	s := b.subnet(subnetID)
	return b.port(routerID, port.OwnerRouterInterface, s.NetworkID, fixed(subnetID, s.GatewayIP.String()))
}

// fip adds a floating IP of router on extNet pointing at fixedIP.
func (b *docBuilder) fip(routerID, extNet, fipAddr, fixedIP string) *FloatingIP {
	b.d.FloatingIPs = append(b.d.FloatingIPs, FloatingIP{ID: b.id(), FloatingIPAddress: netip.MustParseAddr(fipAddr),
		FloatingNetworkID: extNet, PortID: b.id(), FixedIPAddress: netip.MustParseAddr(fixedIP), RouterID: routerID})
	return &b.d.FloatingIPs[len(b.d.FloatingIPs)-1]
}

func (b *docBuilder) routerByID(id string) *Router {
	for i := range b.d.Routers {
		if b.d.Routers[i].ID == id {
			return &b.d.Routers[i]
		}
	}
	panic("no router " + id)
}
