package agent

import (
	"context"

	"github.com/neutrino-net/neutrino/loadbalancer"
)

// applyLoadBalancers runs the load-balancer realizer; the Step carries its
// mutation counts like every realizer's (its statuses: LoadBalancerStatus).
func (n *Node) applyLoadBalancers(ctx context.Context, d loadbalancer.Desired, dry bool) Step {
	run := n.lb.Apply
	if dry {
		run = n.lb.Plan
	}
	rep, err := run(ctx, d)
	st := Step{Realizer: "loadbalancer", Err: err}
	if rep != nil {
		st.Report = rep.Report
	}
	return st
}

// LoadBalancerStatus returns the current statuses of the node's load
// balancers by ID (Octavia's provisioning_status and operating_status, and
// each member's operating_status, which follows its health checks).
func (n *Node) LoadBalancerStatus() map[string]loadbalancer.Status { return n.lb.Status() }
