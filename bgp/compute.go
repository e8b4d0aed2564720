package bgp

import (
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/subnet"
)

// Inputs are the objects route computation reads. A topology's collections
// can be passed as they are; objects that are irrelevant are ignored.
type Inputs struct {
	Subnets       []subnet.Subnet
	Ports         []port.Port
	Routers       []router.Router
	FloatingIPs   []router.FloatingIP
	SubnetPools   []ipam.SubnetPool
	AddressScopes []ipam.AddressScope
}

// isRouterInterface reports the router port owners that are not the
// gateway: Neutron advertises subnets attached through any router port but
// the gateway and the DVR SNAT port.
func isRouterInterface(owner string) bool {
	switch owner {
	case port.OwnerRouterInterface, port.OwnerRouterInterfaceDistributed, port.OwnerHARouterInterface:
		return true
	}
	return false
}

// Compute returns the routes speaker advertises, following
// neutron-dynamic-routing's get_routes_by_bgp_speaker_id for centralized
// routers. For each network bound to the speaker (speaker.Networks) and each
// admin-up router with a gateway on it, the next hop is that router's
// gateway address of the speaker's IP version, and the routes are:
//
//   - when advertise_tenant_networks: every subnet of the speaker's IP
//     version attached to the router through an interface port, not on the
//     bound network, whose subnet pool is in an address scope of the bound
//     network (the scopes of the pools of its subnets of that version).
//     Subnets without a subnet pool, or whose pool has no scope or another
//     scope, are never advertised: their traffic is NATed, not routed.
//   - when advertise_floating_ip_host_routes and the speaker is IPv4: every
//     floating IP on the bound network associated through that router
//     (router_id set and port_id set), as a /32.
//
// A router's gateway address comes from its network:router_gateway port on
// the bound network, or else from external_gateway_info.external_fixed_ips.
// Address scopes must be listed in in.AddressScopes, as Neutron's join on
// the address_scopes table requires. When several routers would advertise
// one prefix, the lowest next hop wins, so the output is deterministic; it
// is sorted. DVR host routes (Neutron's sets 3 and 4) are not computed: this
// SDK has no distributed routers.
func Compute(speaker Speaker, in Inputs) []Route {
	out := map[netip.Prefix]netip.Addr{}
	collect(speaker, in, func(p netip.Prefix, nh netip.Addr, _ string) {
		if old, ok := out[p]; !ok || nh.Less(old) {
			out[p] = nh
		}
	}, nil)
	routes := make([]Route, 0, len(out))
	for p, nh := range out {
		routes = append(routes, Route{Prefix: p, NextHop: nh})
	}
	SortRoutes(routes)
	return routes
}

// collect calls add for every route candidate of Compute, before the
// lowest next hop is chosen per prefix; fipID is the floating IP a
// candidate comes from ("" for a subnet). gateway, when not nil, is called
// with every admin-up router's gateway on each bound network.
func collect(speaker Speaker, in Inputs, add func(p netip.Prefix, nh netip.Addr, fipID string), gateway func(routerID, netID string, gw netip.Addr)) {
	if speaker.IPVersion != 4 && speaker.IPVersion != 6 {
		return
	}
	x := newInputIndex(in)
	is4 := speaker.IPVersion == 4
	for _, netID := range uniq(speaker.Networks) {
		scopes := x.networkScopes(netID, is4)
		for i := range in.Routers {
			r := &in.Routers[i]
			if !r.Up() {
				continue
			}
			gw, ok := x.gatewayIP(r, netID, is4)
			if !ok {
				continue
			}
			if gateway != nil {
				gateway(r.ID, netID, gw)
			}
			if speaker.AdvertiseTenants() && len(scopes) > 0 {
				for _, sn := range x.routerSubnets(r.ID) {
					if sn.CIDR.Addr().Is4() != is4 || sn.NetworkID == netID {
						continue
					}
					if sc := x.scopes.Of(sn.SubnetPoolID, sn.CIDR); sc != "" && scopes[sc] {
						add(sn.CIDR.Masked(), gw, "")
					}
				}
			}
			if speaker.AdvertiseFIPs() && is4 {
				for _, f := range x.fipsByRouter[r.ID] {
					if p, ok := fipPrefix(f, netID); ok {
						add(p, gw, f.ID)
					}
				}
			}
		}
	}
}

// fipPrefix is the host route of a floating IP on the bound network netID,
// when it is advertised: associated, IPv4.
func fipPrefix(f *router.FloatingIP, netID string) (netip.Prefix, bool) {
	if f.FloatingNetworkID == netID && f.Associated() && f.FloatingIPAddress.Unmap().Is4() {
		return netip.PrefixFrom(f.FloatingIPAddress.Unmap(), 32), true
	}
	return netip.Prefix{}, false
}

// inputIndex holds the lookups Compute needs, built once per call so that
// its cost is linear in the inputs.
type inputIndex struct {
	subnets      map[string]*subnet.Subnet
	netSubnets   map[string][]*subnet.Subnet
	scopes       *ipam.Scopes
	gwPorts      map[string][]*port.Port // by router ID
	ifPorts      map[string][]*port.Port // by router ID
	fipsByRouter map[string][]*router.FloatingIP
}

func newInputIndex(in Inputs) *inputIndex {
	x := &inputIndex{
		subnets:      make(map[string]*subnet.Subnet, len(in.Subnets)),
		netSubnets:   map[string][]*subnet.Subnet{},
		scopes:       ipam.NewScopes(in.SubnetPools, in.AddressScopes),
		gwPorts:      map[string][]*port.Port{},
		ifPorts:      map[string][]*port.Port{},
		fipsByRouter: map[string][]*router.FloatingIP{},
	}
	for i := range in.Subnets {
		s := &in.Subnets[i]
		x.subnets[s.ID] = s
		x.netSubnets[s.NetworkID] = append(x.netSubnets[s.NetworkID], s)
	}
	for i := range in.Ports {
		p := &in.Ports[i]
		switch {
		case p.DeviceID == "":
		case p.DeviceOwner == port.OwnerRouterGateway:
			x.gwPorts[p.DeviceID] = append(x.gwPorts[p.DeviceID], p)
		case isRouterInterface(p.DeviceOwner):
			x.ifPorts[p.DeviceID] = append(x.ifPorts[p.DeviceID], p)
		}
	}
	for i := range in.FloatingIPs {
		f := &in.FloatingIPs[i]
		if f.RouterID != "" {
			x.fipsByRouter[f.RouterID] = append(x.fipsByRouter[f.RouterID], f)
		}
	}
	return x
}

// networkScopes returns the address scopes of the subnet pools of the
// network's subnets of one IP version: the speaker's scopes for it.
func (x *inputIndex) networkScopes(netID string, is4 bool) map[string]bool {
	out := map[string]bool{}
	for _, s := range x.netSubnets[netID] {
		if s.CIDR.Addr().Is4() != is4 {
			continue
		}
		if sc := x.scopes.Of(s.SubnetPoolID, s.CIDR); sc != "" {
			out[sc] = true
		}
	}
	return out
}

// gatewayIP is the router's gateway address on the network, of the family.
func (x *inputIndex) gatewayIP(r *router.Router, netID string, is4 bool) (netip.Addr, bool) {
	for _, p := range x.gwPorts[r.ID] {
		if p.NetworkID != netID {
			continue
		}
		if a, ok := firstOfFamily(p.FixedIPs, is4); ok {
			return a, true
		}
	}
	if g := r.ExternalGatewayInfo; g != nil && g.NetworkID == netID {
		return firstOfFamily(g.ExternalFixedIPs, is4)
	}
	return netip.Addr{}, false
}

// routerSubnets returns the subnets attached to the router's interfaces.
func (x *inputIndex) routerSubnets(routerID string) []*subnet.Subnet {
	var out []*subnet.Subnet
	for _, p := range x.ifPorts[routerID] {
		for _, ip := range p.FixedIPs {
			if s, ok := x.subnets[ip.SubnetID]; ok && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func firstOfFamily(ips []port.FixedIP, is4 bool) (netip.Addr, bool) {
	for _, ip := range ips {
		if a := ip.IPAddress.Unmap(); a.IsValid() && a.Is4() == is4 {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func uniq(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}
