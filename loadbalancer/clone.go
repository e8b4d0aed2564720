package loadbalancer

import (
	"maps"
	"slices"
)

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// clone copies what the realizer keeps after Apply returns: its health
// refreshes recompile load balancers from it while the caller is free to
// change its document.
func (d *Desired) clone() *Desired {
	out := &Desired{
		Collections: Collections{
			LoadBalancers:  slices.Clone(d.LoadBalancers),
			Listeners:      slices.Clone(d.Listeners),
			Pools:          slices.Clone(d.Pools),
			Members:        slices.Clone(d.Members),
			HealthMonitors: slices.Clone(d.HealthMonitors),
			L7Policies:     slices.Clone(d.L7Policies),
		},
		Networks: slices.Clone(d.Networks),
		Subnets:  slices.Clone(d.Subnets),
		Ports:    slices.Clone(d.Ports),
	}
	for i := range out.LoadBalancers {
		x := &out.LoadBalancers[i]
		x.AdminStateUp = clonePtr(x.AdminStateUp)
	}
	for i := range out.Listeners {
		x := &out.Listeners[i]
		x.AdminStateUp, x.ConnectionLimit = clonePtr(x.AdminStateUp), clonePtr(x.ConnectionLimit)
		x.InsertHeaders = maps.Clone(x.InsertHeaders)
	}
	for i := range out.Pools {
		x := &out.Pools[i]
		x.AdminStateUp, x.SessionPersistence = clonePtr(x.AdminStateUp), clonePtr(x.SessionPersistence)
	}
	for i := range out.Members {
		x := &out.Members[i]
		x.AdminStateUp, x.Weight = clonePtr(x.AdminStateUp), clonePtr(x.Weight)
	}
	for i := range out.HealthMonitors {
		x := &out.HealthMonitors[i]
		x.AdminStateUp = clonePtr(x.AdminStateUp)
	}
	for i := range out.L7Policies {
		x := &out.L7Policies[i]
		x.AdminStateUp = clonePtr(x.AdminStateUp)
		x.Rules = slices.Clone(x.Rules)
		for j := range x.Rules {
			x.Rules[j].AdminStateUp = clonePtr(x.Rules[j].AdminStateUp)
		}
	}
	for i := range out.Networks {
		out.Networks[i].AdminStateUp = clonePtr(out.Networks[i].AdminStateUp)
	}
	for i := range out.Ports {
		x := &out.Ports[i]
		x.FixedIPs = slices.Clone(x.FixedIPs)
		x.MACAddress = slices.Clone(x.MACAddress)
	}
	return out
}
