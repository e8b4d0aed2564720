package neutrino

import (
	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// qosPolicies checks each QoS policy and that the policies ports and
// networks name exist.
func (v *validator) qosPolicies() {
	ids := make(map[string]bool, len(v.t.QoSPolicies))
	for i := range v.t.QoSPolicies {
		p := &v.t.QoSPolicies[i]
		o := obj{"qos_policies", i, "QoS policy", p.ID}
		if err := p.Validate(); err != nil {
			v.report(o, err)
		}
		if ids[p.ID] && p.ID != "" {
			v.report(o, errdefs.Conflict("id", "%s repeats an earlier QoS policy", p.ID))
		}
		ids[p.ID] = true
	}
	for i := range v.t.Networks {
		n := &v.t.Networks[i]
		if n.QoSPolicyID != "" && !ids[n.QoSPolicyID] {
			v.report(obj{"networks", i, "network", n.ID}, errdefs.NotFound("qos_policy_id", "QoS policy %s does not exist", n.QoSPolicyID))
		}
	}
	for i := range v.t.Ports {
		p := &v.t.Ports[i]
		if p.QoSPolicyID != "" && !ids[p.QoSPolicyID] {
			v.report(obj{"ports", i, "port", p.ID}, errdefs.NotFound("qos_policy_id", "QoS policy %s does not exist", p.QoSPolicyID))
		}
	}
}
