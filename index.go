package neutrino

import (
	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// Index is the lookup tables of one Topology, built once by
// (*Topology).Index so that validation, slicing, realizers and agents do not
// each rebuild maps. Lookups return pointers into the topology's slices
// (nil when absent) and lists in document order; the index is valid while
// the topology is not modified. With duplicate IDs (which Validate reports)
// the first object wins.
type Index struct {
	networks       map[string]*network.Network
	subnets        map[string]*subnet.Subnet
	ports          map[string]*port.Port
	routers        map[string]*router.Router
	floatingIPs    map[string]*router.FloatingIP
	securityGroups map[string]*secgroup.SecurityGroup
	addressScopes  map[string]*ipam.AddressScope
	addressGroups  map[string]*secgroup.AddressGroup
	subnetPools    map[string]*ipam.SubnetPool
	speakers       map[string]*bgp.Speaker
	peers          map[string]*bgp.Peer
	hosts          map[string]*Host

	subnetsOf   map[string][]*subnet.Subnet // by network ID
	portsOn     map[string][]*port.Port     // by network ID
	portsBound  map[string][]*port.Port     // by binding:host_id
	routerPorts map[string][]*port.Port     // by device_id, router_interface and router_gateway ports
	members     map[string][]*port.Port     // by security group ID
	fipsOf      map[string][]*router.FloatingIP
	fipsOfPort  map[string][]*router.FloatingIP
}

// Index builds the lookup tables of t.
func (t *Topology) Index() *Index {
	x := &Index{
		networks:       byID(t.Networks, func(n *network.Network) string { return n.ID }),
		subnets:        byID(t.Subnets, func(s *subnet.Subnet) string { return s.ID }),
		ports:          byID(t.Ports, func(p *port.Port) string { return p.ID }),
		routers:        byID(t.Routers, func(r *router.Router) string { return r.ID }),
		floatingIPs:    byID(t.FloatingIPs, func(f *router.FloatingIP) string { return f.ID }),
		securityGroups: byID(t.SecurityGroups, func(g *secgroup.SecurityGroup) string { return g.ID }),
		addressScopes:  byID(t.AddressScopes, func(s *ipam.AddressScope) string { return s.ID }),
		addressGroups:  byID(t.AddressGroups, func(g *secgroup.AddressGroup) string { return g.ID }),
		subnetPools:    byID(t.SubnetPools, func(p *ipam.SubnetPool) string { return p.ID }),
		speakers:       byID(t.BGPSpeakers, func(s *bgp.Speaker) string { return s.ID }),
		peers:          byID(t.BGPPeers, func(p *bgp.Peer) string { return p.ID }),
		hosts:          byID(t.Hosts, func(h *Host) string { return h.Name }),
		subnetsOf:      map[string][]*subnet.Subnet{},
		portsOn:        map[string][]*port.Port{},
		portsBound:     map[string][]*port.Port{},
		routerPorts:    map[string][]*port.Port{},
		members:        map[string][]*port.Port{},
		fipsOf:         map[string][]*router.FloatingIP{},
		fipsOfPort:     map[string][]*router.FloatingIP{},
	}
	for i := range t.Subnets {
		s := &t.Subnets[i]
		x.subnetsOf[s.NetworkID] = append(x.subnetsOf[s.NetworkID], s)
	}
	for i := range t.Ports {
		p := &t.Ports[i]
		x.portsOn[p.NetworkID] = append(x.portsOn[p.NetworkID], p)
		if p.HostID != "" {
			x.portsBound[p.HostID] = append(x.portsBound[p.HostID], p)
		}
		if p.IsRouterPort() && p.DeviceID != "" {
			x.routerPorts[p.DeviceID] = append(x.routerPorts[p.DeviceID], p)
		}
		for _, g := range p.SecurityGroups {
			x.members[g] = append(x.members[g], p)
		}
	}
	for i := range t.FloatingIPs {
		f := &t.FloatingIPs[i]
		if f.RouterID != "" {
			x.fipsOf[f.RouterID] = append(x.fipsOf[f.RouterID], f)
		}
		if f.PortID != "" {
			x.fipsOfPort[f.PortID] = append(x.fipsOfPort[f.PortID], f)
		}
	}
	return x
}

// byID maps each object's key to the first object with it; empty keys are
// left out.
func byID[T any](objs []T, key func(*T) string) map[string]*T {
	m := make(map[string]*T, len(objs))
	for i := range objs {
		k := key(&objs[i])
		if _, dup := m[k]; k != "" && !dup {
			m[k] = &objs[i]
		}
	}
	return m
}

// Network returns the network with the given ID, or nil.
func (x *Index) Network(id string) *network.Network { return x.networks[id] }

// Subnet returns the subnet with the given ID, or nil.
func (x *Index) Subnet(id string) *subnet.Subnet { return x.subnets[id] }

// Port returns the port with the given ID, or nil.
func (x *Index) Port(id string) *port.Port { return x.ports[id] }

// Router returns the router with the given ID, or nil.
func (x *Index) Router(id string) *router.Router { return x.routers[id] }

// FloatingIP returns the floating IP with the given ID, or nil.
func (x *Index) FloatingIP(id string) *router.FloatingIP { return x.floatingIPs[id] }

// SecurityGroup returns the security group with the given ID, or nil.
func (x *Index) SecurityGroup(id string) *secgroup.SecurityGroup { return x.securityGroups[id] }

// AddressScope returns the address scope with the given ID, or nil.
func (x *Index) AddressScope(id string) *ipam.AddressScope { return x.addressScopes[id] }

// AddressGroup returns the address group with the given ID, or nil.
func (x *Index) AddressGroup(id string) *secgroup.AddressGroup { return x.addressGroups[id] }

// SubnetPool returns the subnet pool with the given ID, or nil.
func (x *Index) SubnetPool(id string) *ipam.SubnetPool { return x.subnetPools[id] }

// Speaker returns the BGP speaker with the given ID, or nil.
func (x *Index) Speaker(id string) *bgp.Speaker { return x.speakers[id] }

// Peer returns the BGP peer with the given ID, or nil.
func (x *Index) Peer(id string) *bgp.Peer { return x.peers[id] }

// Host returns the host with the given name, or nil.
func (x *Index) Host(name string) *Host { return x.hosts[name] }

// SubnetsOf returns the subnets of a network.
func (x *Index) SubnetsOf(networkID string) []*subnet.Subnet { return x.subnetsOf[networkID] }

// PortsOn returns the ports on a network, wherever they are bound.
func (x *Index) PortsOn(networkID string) []*port.Port { return x.portsOn[networkID] }

// PortsBoundTo returns the ports whose binding:host_id is host.
func (x *Index) PortsBoundTo(host string) []*port.Port { return x.portsBound[host] }

// RouterPorts returns a router's interface and gateway ports.
func (x *Index) RouterPorts(routerID string) []*port.Port { return x.routerPorts[routerID] }

// GatewayPort returns a router's (first) gateway port, or nil.
func (x *Index) GatewayPort(routerID string) *port.Port {
	for _, p := range x.routerPorts[routerID] {
		if p.DeviceOwner == port.OwnerRouterGateway {
			return p
		}
	}
	return nil
}

// RouterHost returns the host a router is realized on: the binding:host_id
// of its ports (Validate demands they agree; the first bound one wins here),
// or "" while none is bound.
func (x *Index) RouterHost(routerID string) string {
	for _, p := range x.routerPorts[routerID] {
		if p.HostID != "" {
			return p.HostID
		}
	}
	return ""
}

// Members returns the ports in a security group: the members whose
// addresses make up the group when a rule names it as remote_group_id.
func (x *Index) Members(groupID string) []*port.Port { return x.members[groupID] }

// FloatingIPsOf returns the floating IPs a router translates.
func (x *Index) FloatingIPsOf(routerID string) []*router.FloatingIP { return x.fipsOf[routerID] }

// FloatingIPsOfPort returns the floating IPs associated with a port.
func (x *Index) FloatingIPsOfPort(portID string) []*router.FloatingIP { return x.fipsOfPort[portID] }

// SubnetOf returns the subnet of a port's fixed IP, or nil.
func (x *Index) SubnetOf(f port.FixedIP) *subnet.Subnet { return x.subnets[f.SubnetID] }
