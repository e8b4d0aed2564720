package agent

import (
	"context"
	"maps"

	"github.com/neutrino-net/neutrino/vpn"
)

// applyVPN runs the VPN realizer, creating it when a router of this node
// first has a VPN service: a node without VPN needs no charon installed.
func (n *Node) applyVPN(ctx context.Context, d vpn.Desired, dry bool) Step {
	if n.vpn == nil {
		if len(d.VPNServices) == 0 {
			return Step{Realizer: "vpn"}
		}
		r, err := vpn.NewRealizer(n.host, append([]vpn.Option{vpn.WithLogger(n.log.With("realizer", "vpn")),
			vpn.WithPrefix(n.cfg.Prefix)}, n.cfg.VPNOptions...)...)
		if err != nil {
			return Step{Realizer: "vpn", Err: err}
		}
		n.vpn = r
	}
	var (
		rep *vpn.Report
		err error
	)
	if dry {
		rep, err = n.vpn.Plan(ctx, d)
	} else {
		rep, err = n.vpn.Apply(ctx, d)
	}
	n.vpnStatus = rep.Status
	return fromReport("vpn", &rep.Report, err)
}

// VPNStatus returns the status (ACTIVE or DOWN, with a reason) of every
// site connection of the node's routers, as of the last Apply or Plan.
func (n *Node) VPNStatus() map[string]vpn.ConnStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	return maps.Clone(n.vpnStatus)
}
