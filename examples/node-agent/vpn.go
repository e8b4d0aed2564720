package main

import (
	"github.com/neutrino-net/neutrino/agent"
	"github.com/neutrino-net/neutrino/vpn"
)

// recordVPN publishes each IPsec site connection's status (Neutron's
// ACTIVE/DOWN) as of the last Apply.
func recordVPN(m *metrics, node *agent.Node) {
	m.ipsecUp.Reset()
	for id, st := range node.VPNStatus() {
		up := 0.0
		if st.Status == vpn.StatusActive {
			up = 1
		}
		m.ipsecUp.WithLabelValues(id).Set(up)
	}
}
