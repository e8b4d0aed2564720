package main

import "github.com/neutrino-net/neutrino/agent"

// recordLoadBalancers publishes each load balancer's statuses and each
// member's operating status (Octavia's values as the "status" label).
func recordLoadBalancers(m *metrics, node *agent.Node) {
	m.lbStatus.Reset()
	m.lbMemberStatus.Reset()
	for id, st := range node.LoadBalancerStatus() {
		m.lbStatus.WithLabelValues(id, st.ProvisioningStatus, st.OperatingStatus).Set(1)
		for member, s := range st.Members {
			m.lbMemberStatus.WithLabelValues(id, member, s).Set(1)
		}
	}
}
