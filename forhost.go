package neutrino

import (
	"slices"

	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// ForHost returns the slice of t that the node called name must know to
// realize its part: a Topology holding what the node realizes and the
// context it needs, in document order. Scheduling is Neutron's, by port
// binding (binding:host_id); what the node realizes is:
//
//   - ports bound to it (Index.PortsBoundTo), plugged by the port realizer;
//   - routers with a port bound to it (Index.RoutersOn), with all their
//     ports and the floating IPs they translate;
//   - the L2 of the networks of those ports and routers, including the
//     external networks of the routers' gateways (Index.NetworksOn);
//   - DHCP for the networks with a network:dhcp port bound to it
//     (Index.DHCPNetworksOn);
//   - the BGP speakers the host runs (hosts[].bgp_speakers), with their peers;
//   - the security groups of its ports;
//   - the firewall groups of its routers' ports and its instance ports,
//     each trimmed to those ports, with their policies and rules, and the logs of those groups
//     or ports (firewallSlice);
//   - the security group logs of its ports or their groups, and
//     project-wide ones (securityGroupLogSlice).
//
// The slice also holds CONTEXT, objects realized elsewhere that the node's
// realizers read; they keep their own binding:host_id, so a realizer must
// act only on what the rules above select, never on everything in the slice:
//
//   - every port of the networks above, wherever bound: VXLAN l2population
//     programs a FDB and ARP/ND entry per remote port and a flooding entry
//     per remote host (whose tunnel_ip is in hosts), and the DHCP server
//     answers every port of its network;
//   - the rules' remote groups, and every port that is a member of them
//     (Index.Members), whose addresses make up the remote-group sets; their
//     address groups;
//   - the ports of the floating IPs of the node's routers;
//   - for each BGP speaker the node runs: its networks, every router with a
//     gateway on them (wherever realized), those routers' ports and their
//     networks, and the floating IPs on the speaker's networks, from which
//     the advertised routes are computed;
//   - the subnets of every network in the slice, the subnet pools of those
//     subnets and the address scopes of those pools;
//   - every host, for its tunnel_ip; other hosts' bgp_speakers are left out.
//
// References from context objects may dangle in the slice (a remote port's
// device_id, a remote group's own rules); references from what the node
// realizes do not. Slicing a slice for the same host gives the same slice.
// The slice's objects are copies that share their inner lists (fixed IPs,
// rules, ...) with t: treat both as read-only.
//
// Rules listed on their own (security_group_rules) are merged into their
// groups (secgroup.MergeRules): the slice lists them only there.
//
// ForHost does not validate: call Validate on t first. The error wraps
// ErrInvalid for an empty name and ErrNotFound for a name that is neither in
// hosts nor the binding:host_id of any port.
func (t *Topology) ForHost(name string) (*Topology, error) {
	return t.ForHostIndexed(t.Index(), name)
}

// ForHostIndexed is ForHost with x, t's index (t.Index()), built once by a
// caller that slices one document for many hosts.
func (t *Topology) ForHostIndexed(x *Index, name string) (*Topology, error) {
	if len(t.SecurityGroupRules) > 0 {
		// The groups change: index the merged document (a document listing
		// rules on their own pays one index more).
		t = t.withRulesMerged()
		x = t.Index()
	}
	if name == "" {
		return nil, errdefs.Invalid("host", "a host name is required")
	}
	if x.Host(name) == nil && len(x.PortsBoundTo(name)) == 0 {
		return nil, errdefs.NotFound("host", "%s is neither in hosts nor the binding:host_id of a port", name)
	}
	s := newSlicer(t, x, name)
	s.realized(name)
	s.securityContext(name)
	if h := x.Host(name); h != nil {
		for _, id := range h.BGPSpeakers {
			s.speaker(id)
		}
	}
	s.closure()
	out := s.result()
	firewallSlice(t, x, name, out)
	securityGroupLogSlice(t, name, out)
	out.Collections = t.Collections.Select(t.loadBalancersOn(x, name))
	vpnSlice(t, x, name, out)
	return out, nil
}

// RoutersOn returns the routers realized on host: those with an interface or
// gateway port bound to it.
func (x *Index) RoutersOn(host string) []*router.Router {
	var out []*router.Router
	seen := map[string]bool{}
	for _, p := range x.PortsBoundTo(host) {
		if r := x.Router(p.DeviceID); p.IsRouterPort() && r != nil && !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

// NetworksOn returns the networks whose L2 is realized on host: those of the
// ports bound to it, of the ports of its routers, and of its routers'
// gateways.
func (x *Index) NetworksOn(host string) []*network.Network {
	var out []*network.Network
	seen := map[string]bool{}
	add := func(id string) {
		if n := x.Network(id); n != nil && !seen[id] {
			seen[id] = true
			out = append(out, n)
		}
	}
	for _, p := range x.PortsBoundTo(host) {
		add(p.NetworkID)
	}
	for _, r := range x.RoutersOn(host) {
		for _, p := range x.RouterPorts(r.ID) {
			add(p.NetworkID)
		}
		if g := r.ExternalGatewayInfo; g != nil {
			add(g.NetworkID)
		}
	}
	return out
}

// DHCPNetworksOn returns the networks host serves DHCP for: those with a
// network:dhcp port bound to it.
func (x *Index) DHCPNetworksOn(host string) []*network.Network {
	var out []*network.Network
	seen := map[string]bool{}
	for _, p := range x.PortsBoundTo(host) {
		if n := x.Network(p.NetworkID); p.ServesDHCPOn(host) && n != nil && !seen[n.ID] {
			seen[n.ID] = true
			out = append(out, n)
		}
	}
	return out
}

// slicer collects the objects of a slice as pointers into the topology, so
// that objects without an ID or with a repeated one are handled exactly.
type slicer struct {
	t    *Topology
	x    *Index
	host string

	networks      set[network.Network]
	ports         set[port.Port]
	routers       set[router.Router]
	fips          set[router.FloatingIP]
	groups        set[secgroup.SecurityGroup]
	addressGroups set[secgroup.AddressGroup]
	speakers      set[bgp.Speaker]
	peers         set[bgp.Peer]
	subnets       set[subnet.Subnet]
	pools         set[ipam.SubnetPool]
	scopes        set[ipam.AddressScope]
}

type set[T any] map[*T]bool

// add adds a non-nil object and reports whether it is new.
func (s set[T]) add(p *T) bool {
	if p == nil || s[p] {
		return false
	}
	s[p] = true
	return true
}

// filter returns the objects of all that are in s, as copies, in order.
func filter[T any](all []T, s set[T]) []T {
	var out []T
	for i := range all {
		if s[&all[i]] {
			out = append(out, all[i])
		}
	}
	return out
}

func newSlicer(t *Topology, x *Index, host string) *slicer {
	return &slicer{t: t, x: x, host: host,
		networks: set[network.Network]{}, ports: set[port.Port]{}, routers: set[router.Router]{},
		fips: set[router.FloatingIP]{}, groups: set[secgroup.SecurityGroup]{},
		addressGroups: set[secgroup.AddressGroup]{}, speakers: set[bgp.Speaker]{}, peers: set[bgp.Peer]{},
		subnets: set[subnet.Subnet]{}, pools: set[ipam.SubnetPool]{}, scopes: set[ipam.AddressScope]{},
	}
}

// realized adds what host realizes, and every port of its networks.
func (s *slicer) realized(host string) {
	x := s.x
	for _, p := range x.PortsBoundTo(host) {
		s.ports.add(p)
	}
	for _, r := range x.RoutersOn(host) {
		s.router(r)
		for _, f := range x.FloatingIPsOf(r.ID) {
			s.fips.add(f)
			s.ports.add(x.Port(f.PortID))
		}
	}
	for _, n := range x.NetworksOn(host) {
		s.networks.add(n)
		for _, p := range x.PortsOn(n.ID) {
			s.ports.add(p)
		}
	}
}

// router adds a router and its ports.
func (s *slicer) router(r *router.Router) {
	s.routers.add(r)
	for _, p := range s.x.RouterPorts(r.ID) {
		s.ports.add(p)
	}
}

// securityContext adds the groups of the ports bound to host, the remote
// groups and address groups of their rules, and the remote groups' members.
func (s *slicer) securityContext(host string) {
	x := s.x
	for _, p := range x.PortsBoundTo(host) {
		for _, id := range p.SecurityGroups {
			g := x.SecurityGroup(id)
			if !s.groups.add(g) {
				continue
			}
			for _, r := range g.Rules {
				if rg := x.SecurityGroup(r.RemoteGroupID); rg != nil {
					s.groups.add(rg)
					for _, m := range x.Members(rg.ID) {
						s.ports.add(m)
					}
				}
				s.addressGroups.add(x.AddressGroup(r.RemoteAddressGroupID))
			}
		}
	}
}

// speaker adds a BGP speaker, its peers, and what its routes are computed
// from.
func (s *slicer) speaker(id string) {
	x := s.x
	sp := x.Speaker(id)
	if !s.speakers.add(sp) {
		return
	}
	for _, pid := range sp.Peers {
		s.peers.add(x.Peer(pid))
	}
	bound := map[string]bool{}
	for _, nid := range sp.Networks {
		bound[nid] = true
		s.networks.add(x.Network(nid))
	}
	for i := range s.t.Routers {
		r := &s.t.Routers[i]
		if g := r.ExternalGatewayInfo; g == nil || !bound[g.NetworkID] || x.Router(r.ID) != r {
			continue
		}
		s.router(r)
		for _, p := range x.RouterPorts(r.ID) {
			s.networks.add(x.Network(p.NetworkID))
		}
	}
	for i := range s.t.FloatingIPs {
		if f := &s.t.FloatingIPs[i]; bound[f.FloatingNetworkID] {
			s.fips.add(f)
		}
	}
}

// closure adds the subnets of the slice's networks, their pools and the
// pools' scopes.
func (s *slicer) closure() {
	for i := range s.t.Subnets {
		sn := &s.t.Subnets[i]
		if !s.networks[s.x.Network(sn.NetworkID)] {
			continue
		}
		s.subnets.add(sn)
		if pool := s.x.SubnetPool(sn.SubnetPoolID); s.pools.add(pool) {
			s.scopes.add(s.x.AddressScope(pool.AddressScopeID))
		}
	}
}

func (s *slicer) result() *Topology {
	t := s.t
	return &Topology{
		Networks:       filter(t.Networks, s.networks),
		Subnets:        filter(t.Subnets, s.subnets),
		Ports:          filter(t.Ports, s.ports),
		Routers:        filter(t.Routers, s.routers),
		FloatingIPs:    filter(t.FloatingIPs, s.fips),
		SecurityGroups: filter(t.SecurityGroups, s.groups),
		AddressScopes:  filter(t.AddressScopes, s.scopes),
		AddressGroups:  filter(t.AddressGroups, s.addressGroups),
		SubnetPools:    filter(t.SubnetPools, s.pools),
		BGPSpeakers:    filter(t.BGPSpeakers, s.speakers),
		BGPPeers:       filter(t.BGPPeers, s.peers),
		QoSPolicies:    slices.Clone(t.QoSPolicies), // few, and named by ports and networks alike
		Hosts:          s.hosts(),
	}
}

// hosts copies every host for its tunnel address; only the slice's own host
// keeps its bgp_speakers, so that the slice names no speaker it lacks and
// runs none of another node's.
func (s *slicer) hosts() []Host {
	out := slices.Clone(s.t.Hosts)
	for i := range out {
		if out[i].Name != s.host {
			out[i].BGPSpeakers = nil
		}
	}
	return out
}

// withRulesMerged returns t, or when it lists rules on their own a shallow
// copy whose groups hold them. Validate reports what does not merge; what
// does not is left out here.
func (t *Topology) withRulesMerged() *Topology {
	if len(t.SecurityGroupRules) == 0 {
		return t
	}
	m := *t
	m.SecurityGroups, _ = secgroup.MergeRules(t.SecurityGroups, t.SecurityGroupRules)
	m.SecurityGroupRules = nil
	return &m
}
