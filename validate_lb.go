package neutrino

import "github.com/neutrino-net/neutrino/loadbalancer"

// loadBalancers checks Octavia's collections and their references to the
// document's ports, subnets and networks (VIP ports, members inside a
// subnet of the VIP's network). The loadbalancer package names its paths
// by the document's collection names, so they need no prefix.
func (v *validator) loadBalancers() {
	t := v.t
	if len(t.LoadBalancers)+len(t.Listeners)+len(t.Pools)+len(t.Members)+len(t.HealthMonitors)+len(t.L7Policies) == 0 {
		return
	}
	d := loadbalancer.Desired{Collections: t.Collections, Networks: t.Networks, Subnets: t.Subnets, Ports: t.Ports}
	v.reportDoc(d.Validate())
}
