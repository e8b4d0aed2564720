package agent

import (
	"context"

	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/port"
)

// metadataFor is what the node's metadata service serves: a listener in
// every router namespace here and in every DHCP namespace here that
// serves an enabled DHCP subnet (Neutron's force_metadata: the DHCP
// realizer puts the metadata address on every DHCP port once metadata is
// on), and every port of the slice to resolve instances from.
func metadataFor(d *Desired, host string) metadata.Desired {
	md := metadata.Desired{}
	for _, r := range d.Router.Routers {
		md.Routers = append(md.Routers, r.ID)
	}
	dhcpOn, v6 := map[string]bool{}, map[string]bool{}
	for i := range d.DHCP.Subnets {
		s := &d.DHCP.Subnets[i]
		if s.DHCPEnabled() {
			dhcpOn[s.NetworkID] = true
		}
		if s.IPVersion == 6 {
			v6[s.NetworkID] = true
		}
	}
	seen := map[string]bool{}
	for _, ps := range [][]port.Port{d.DHCP.Ports, d.Router.Ports} {
		for _, p := range ps {
			if seen[p.ID] {
				continue
			}
			seen[p.ID] = true
			md.Ports = append(md.Ports, p)
			if p.DeviceOwner == port.OwnerDHCP && p.HostID == host && dhcpOn[p.NetworkID] {
				md.Networks = append(md.Networks, metadata.Network{ID: p.NetworkID, DHCPPortID: p.ID, IPv6: v6[p.NetworkID]})
			}
		}
	}
	return md
}

// metadataStep runs the metadata service's pass, when it is on.
func (n *Node) metadataStep(ctx context.Context, d metadata.Desired, dry bool) Step {
	if n.md == nil {
		return Step{Realizer: "metadata"}
	}
	var (
		rep *metadata.Report
		err error
	)
	if dry {
		rep, err = n.md.Plan(ctx, d)
	} else {
		rep, err = n.md.Apply(ctx, d)
	}
	return fromReport("metadata", rep, err)
}

// MetadataStats returns the metadata service's counters (zero when off).
func (n *Node) MetadataStats() metadata.Stats {
	if n.md == nil {
		return metadata.Stats{}
	}
	return n.md.Stats()
}
