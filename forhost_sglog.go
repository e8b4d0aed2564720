package neutrino

import "github.com/neutrino-net/neutrino/secgroup"

// securityGroupLogSlice adds to out (host's slice of t) the security group
// logs that may cover a port bound to host: those targeting such a port,
// those naming a group of the slice without a target, and project-wide
// ones. Logs of other nodes' ports stay out, so the slice's references do
// not dangle.
func securityGroupLogSlice(t *Topology, host string, out *Topology) {
	if len(t.Logs) == 0 {
		return
	}
	local := map[string]bool{}
	for i := range out.Ports {
		if out.Ports[i].HostID == host {
			local[out.Ports[i].ID] = true
		}
	}
	groups := map[string]bool{}
	for i := range out.SecurityGroups {
		groups[out.SecurityGroups[i].ID] = true
	}
	for _, l := range t.Logs {
		if l.ResourceType != secgroup.ResourceSecurityGroup {
			continue
		}
		if l.TargetID != "" && !local[l.TargetID] || l.TargetID == "" && l.ResourceID != "" && !groups[l.ResourceID] {
			continue
		}
		out.Logs = append(out.Logs, l)
	}
}
