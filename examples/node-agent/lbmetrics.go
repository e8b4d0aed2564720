package main

import "github.com/neutrino-net/neutrino/agent"

// recordLoadBalancers publishes each load balancer's statuses and each
// member's operating status (Octavia's values as the "status" label).
func recordLoadBalancers(m *metrics, node *agent.Node) {
	m.Reset("neutrino_loadbalancer_status")
	m.Reset("neutrino_loadbalancer_member_status")
	for id, st := range node.LoadBalancerStatus() {
		m.Set("neutrino_loadbalancer_status", 1, "loadbalancer", id,
			"provisioning_status", st.ProvisioningStatus, "operating_status", st.OperatingStatus)
		for member, s := range st.Members {
			m.Set("neutrino_loadbalancer_member_status", 1, "loadbalancer", id, "member", member, "status", s)
		}
	}
}
