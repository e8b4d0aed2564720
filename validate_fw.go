package neutrino

import "github.com/neutrino-net/neutrino/firewall"

// firewall checks the FWaaS objects and logs against the document's ports.
// firewall.Desired uses the document's collection names, so its paths are
// document paths, and its errors are one level deep.
func (v *validator) firewall() {
	t := v.t
	if len(t.FirewallGroups)+len(t.FirewallPolicies)+len(t.FirewallRules)+len(t.Logs) == 0 {
		return
	}
	d := firewall.Desired{FirewallGroups: t.FirewallGroups, FirewallPolicies: t.FirewallPolicies,
		FirewallRules: t.FirewallRules, Logs: t.Logs, Ports: t.Ports}
	v.reportDoc(d.Validate())
}
