package neutrino

// LoadBalancersOn returns the IDs of the load balancers realized on host:
// those whose VIP port is bound to it (Neutron's scheduling by binding).
func (t *Topology) LoadBalancersOn(host string) map[string]bool {
	return t.loadBalancersOn(t.Index(), host)
}

func (t *Topology) loadBalancersOn(x *Index, host string) map[string]bool {
	out := map[string]bool{}
	for i := range t.LoadBalancers {
		lb := &t.LoadBalancers[i]
		if p := x.Port(lb.VIPPortID); p != nil && p.HostID == host && host != "" {
			out[lb.ID] = true
		}
	}
	return out
}
