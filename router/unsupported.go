package router

import "github.com/neutrino-net/neutrino/internal/errdefs"

// routerRefusals are the router fields Neutrino reads but does not realize
// yet: Validate refuses them with ErrUnsupported. Realizing one means
// deleting its entry here (and listing it as supported in the README).
func routerRefusals() []errdefs.Refusal[Router] {
	return []errdefs.Refusal[Router]{
		{Path: "ha", Why: "true asks for an HA (VRRP) router; it would be realized as a single-node router that fails with its host",
			Refused: func(r *Router) bool { return r.HA }},
		{Path: "distributed", Why: "true asks for a distributed (DVR) router; it would be realized centralized on one host",
			Refused: func(r *Router) bool { return r.Distributed }},
		{Path: "conntrack_helpers", Why: "conntrack helpers (FTP, SIP, ...) would not be attached",
			Refused: func(r *Router) bool { return len(r.ConntrackHelpers) > 0 }},
		{Path: "external_gateway_info.qos_policy_id", Why: "QoS policies (bandwidth limits) on the gateway would not be enforced",
			Refused: func(r *Router) bool { return r.ExternalGatewayInfo != nil && r.ExternalGatewayInfo.QoSPolicyID != "" }},
	}
}

// floatingIPRefusals are the floating IP fields Neutrino reads but does not
// realize yet; see routerRefusals.
func floatingIPRefusals() []errdefs.Refusal[FloatingIP] {
	return []errdefs.Refusal[FloatingIP]{
		{Path: "qos_policy_id", Why: "QoS policies (bandwidth limits) on the floating IP would not be enforced",
			Refused: func(f *FloatingIP) bool { return f.QoSPolicyID != "" }},
	}
}
