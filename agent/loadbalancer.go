package agent

import (
	"context"

	"github.com/neutrino-net/neutrino/loadbalancer"
)

// applyLoadBalancers runs the load-balancer realizer. Its Report's
// statuses (provisioning and operating, per member) are kept for
// LoadBalancerStatus; the Step carries the mutation counts like every
// realizer's.
func (n *Node) applyLoadBalancers(ctx context.Context, d loadbalancer.Desired, dry bool) Step {
	run := n.lb.Apply
	if dry {
		run = n.lb.Plan
	}
	rep, err := run(ctx, d)
	st := Step{Realizer: "loadbalancer", Err: err}
	if rep != nil {
		st.Report = rep.Report
		if !dry {
			n.lbStatus = rep.LoadBalancers
		}
	}
	return st
}

// LoadBalancerStatus returns the statuses of the node's load balancers as
// of the last Apply, by ID (Octavia's provisioning_status and
// operating_status, and each member's operating_status).
func (n *Node) LoadBalancerStatus() map[string]loadbalancer.Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lbStatus
}
