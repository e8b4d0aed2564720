package neutrino

import "github.com/neutrino-net/neutrino/firewall"

// firewallSlice adds to out (host's slice of t) the firewall groups that
// protect a port of a router realized on host or an instance port bound to
// it, each trimmed to those ports, their policies and rules, and the firewall-group logs of those
// groups or ports. Groups and logs of other nodes stay out, so the slice's
// references do not dangle.
func firewallSlice(t *Topology, x *Index, host string, out *Topology) {
	if len(t.FirewallGroups) == 0 {
		return
	}
	local := map[string]bool{}
	for _, p := range x.PortsBoundTo(host) {
		if p.IsInstance() {
			local[p.ID] = true
		}
	}
	for _, r := range x.RoutersOn(host) {
		for _, p := range x.RouterPorts(r.ID) {
			local[p.ID] = true
		}
	}
	groups := map[string]bool{}
	policies := map[string]bool{}
	for _, g := range t.FirewallGroups {
		var ports []string
		for _, id := range g.Ports {
			if local[id] {
				ports = append(ports, id)
			}
		}
		if len(ports) == 0 {
			continue
		}
		g.Ports = ports
		out.FirewallGroups = append(out.FirewallGroups, g)
		groups[g.ID] = true
		policies[g.IngressPolicyID], policies[g.EgressPolicyID] = true, true
	}
	rules := map[string]bool{}
	for _, p := range t.FirewallPolicies {
		if policies[p.ID] {
			out.FirewallPolicies = append(out.FirewallPolicies, p)
			for _, id := range p.Rules {
				rules[id] = true
			}
		}
	}
	for _, r := range t.FirewallRules {
		if rules[r.ID] {
			out.FirewallRules = append(out.FirewallRules, r)
		}
	}
	for _, l := range t.Logs {
		if l.ResourceType != firewall.ResourceFirewallGroup || len(groups) == 0 {
			continue
		}
		if l.ResourceID != "" && !groups[l.ResourceID] || l.TargetID != "" && !local[l.TargetID] {
			continue
		}
		out.Logs = append(out.Logs, l)
	}
}
