package neutrino

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// portGroups checks a port's security groups: they exist and are all
// stateful or all stateless (Neutron's SecurityGroupConflict).
func (v *validator) portGroups(o obj, p *port.Port) {
	var stateful, stateless string
	for j, id := range p.SecurityGroups {
		g := v.x.SecurityGroup(id)
		switch {
		case id == "":
		case g == nil:
			v.report(o, errdefs.NotFound(errdefs.Index("security_groups", j), "security group %s does not exist", id))
		case g.IsStateful():
			stateful = cmp.Or(stateful, id)
		default:
			stateless = cmp.Or(stateless, id)
		}
	}
	if stateful != "" && stateless != "" {
		v.report(o, errdefs.Conflict("security_groups", "stateful group %s and stateless group %s cannot both apply to a port", stateful, stateless))
	}
}

// securityGroups checks rules' remote groups and address groups, rule IDs
// across groups, and the rules listed on their own (security_group_rules),
// which ForHost merges into their groups.
func (v *validator) securityGroups() {
	ruleIDs := map[string]string{}
	for i := range v.t.SecurityGroups {
		g := &v.t.SecurityGroups[i]
		o := obj{"security_groups", i, "security group", g.ID}
		for j, r := range g.Rules {
			path := errdefs.Index("security_group_rules", j)
			v.ruleRemotes(o, path, &r)
			if r.ID == "" {
				continue
			}
			if other, dup := ruleIDs[r.ID]; dup && other != g.ID {
				v.report(o, errdefs.Conflict(path+".id", "rule ID %s is also used in security group %s", r.ID, other))
			} else if !dup {
				ruleIDs[r.ID] = g.ID
			}
		}
	}
	for k := range v.t.SecurityGroupRules {
		r := &v.t.SecurityGroupRules[k]
		o := obj{"security_group_rules", k, "security group rule", r.ID}
		v.report(o, r.Validate())
		v.ruleRemotes(o, "", r)
	}
	_, err := secgroup.MergeRules(v.t.SecurityGroups, v.t.SecurityGroupRules)
	v.reportDoc(err)
	v.reportDoc(secgroup.ValidateLogs(v.t.Logs, v.t.SecurityGroups, v.t.Ports))
}

// ruleRemotes checks that a rule's remote group and address group exist.
func (v *validator) ruleRemotes(o obj, path string, r *secgroup.Rule) {
	at := func(field string) string {
		if path == "" {
			return field
		}
		return path + "." + field
	}
	if r.RemoteGroupID != "" && v.x.SecurityGroup(r.RemoteGroupID) == nil {
		v.report(o, errdefs.NotFound(at("remote_group_id"), "security group %s does not exist (rule %s)", r.RemoteGroupID, r.ID))
	}
	if r.RemoteAddressGroupID != "" && v.x.AddressGroup(r.RemoteAddressGroupID) == nil {
		v.report(o, errdefs.NotFound(at("remote_address_group_id"), "address group %s does not exist (rule %s)", r.RemoteAddressGroupID, r.ID))
	}
}

// bgp checks speakers' networks and peers.
func (v *validator) bgp() {
	for i := range v.t.BGPSpeakers {
		s := &v.t.BGPSpeakers[i]
		o := obj{"bgp_speakers", i, "BGP speaker", s.ID}
		for j, id := range s.Networks {
			if id != "" && v.x.Network(id) == nil {
				v.report(o, errdefs.NotFound(errdefs.Index("networks", j), "network %s does not exist", id))
			}
		}
		peerIPs := map[netip.Addr]string{}
		for j, id := range s.Peers {
			p := v.x.Peer(id)
			switch {
			case id == "":
			case p == nil:
				v.report(o, errdefs.NotFound(errdefs.Index("peers", j), "BGP peer %s does not exist", id))
			case p.PeerIP.IsValid():
				if other, dup := peerIPs[p.PeerIP]; dup && other != id {
					v.report(o, errdefs.Conflict(errdefs.Index("peers", j), "peer %s has address %s, like peer %s", id, p.PeerIP, other))
				}
				peerIPs[p.PeerIP] = id
			}
		}
	}
}

// Validate checks the host on its own, with paths relative to it: a name,
// a plain tunnel_ip when given, speaker IDs without duplicates.
func (h *Host) Validate() error {
	var errs []error
	if h.Name == "" {
		errs = append(errs, errdefs.Invalid("name", "required: the binding:host_id of the node's ports"))
	}
	if h.TunnelIP.IsValid() {
		errs = append(errs, subnet.ValidateAddr("tunnel_ip", h.TunnelIP))
	}
	errs = append(errs, subnet.ValidateIDs("bgp_speakers", h.BGPSpeakers))
	return errors.Join(errs...)
}

// hosts checks speakers, tunnel addresses and that every host of a VXLAN
// network that spans hosts has a tunnel address.
func (v *validator) hosts() {
	tunnels := map[netip.Addr]string{}
	for i := range v.t.Hosts {
		h := &v.t.Hosts[i]
		o := obj{"hosts", i, "host", h.Name}
		for j, id := range h.BGPSpeakers {
			if id != "" && v.x.Speaker(id) == nil {
				v.report(o, errdefs.NotFound(errdefs.Index("bgp_speakers", j), "BGP speaker %s does not exist", id))
			}
		}
		if h.TunnelIP.IsValid() {
			if other, dup := tunnels[h.TunnelIP]; dup {
				v.report(o, errdefs.Conflict("tunnel_ip", "%s is also the tunnel address of host %s", h.TunnelIP, other))
			} else {
				tunnels[h.TunnelIP] = h.Name
			}
		}
	}
	for i := range v.t.Networks {
		n := &v.t.Networks[i]
		if n.NetworkType != network.TypeVXLAN || v.x.Network(n.ID) != n {
			continue
		}
		var spans []string
		for _, p := range v.x.PortsOn(n.ID) {
			if p.HostID != "" && !slices.Contains(spans, p.HostID) {
				spans = append(spans, p.HostID)
			}
		}
		if len(spans) < 2 {
			continue
		}
		for _, name := range spans {
			if h := v.x.Host(name); h == nil || !h.TunnelIP.IsValid() {
				v.report(obj{"networks", i, "network", n.ID}, errdefs.Invalid("provider:network_type", "vxlan with ports on %d hosts, but host %s has no tunnel_ip in hosts", len(spans), name))
			}
		}
	}
}
