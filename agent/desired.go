package agent

import (
	"fmt"
	"net/netip"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/firewall"
	"github.com/neutrino-net/neutrino/loadbalancer"
	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/qos"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/vpn"
)

// Desired is one node's desired state, per realizer.
type Desired struct {
	Network  network.Desired
	Port     port.Desired
	Router   router.Desired
	DHCP     dhcp.Desired
	SecGroup secgroup.Desired
	Firewall firewall.Desired
	// LoadBalancer holds the load balancers whose VIP port is bound here.
	LoadBalancer loadbalancer.Desired
	// QoS is applied to the ports of Port, after them.
	QoS qos.Desired
	// Metadata is what the metadata service serves (when Config.Metadata
	// turns it on).
	Metadata metadata.Desired
	// VPN holds the site connections of the routers realized here.
	VPN vpn.Desired
	// BGP is nil when the host runs no speaker.
	BGP *bgp.Desired
}

// DesiredFor validates topo and computes what host realizes. topo is not
// modified; apply Neutron's defaults (Topology.Defaults) before if the
// document relies on them.
func DesiredFor(topo *neutrino.Topology, host string) (*Desired, error) {
	if err := topo.Validate(); err != nil {
		return nil, err
	}
	slice, err := topo.ForHost(host)
	if err != nil {
		return nil, err
	}
	ix := slice.Index()

	tunnels := make(map[string]netip.Addr, len(slice.Hosts))
	for _, h := range slice.Hosts {
		if h.TunnelIP.IsValid() {
			tunnels[h.Name] = h.TunnelIP
		}
	}
	d := &Desired{}
	d.Network, d.Port = port.L2ForHost(host, tunnels, slice.Networks, slice.Subnets, slice.Ports)
	d.QoS = qos.Desired{Policies: slice.QoSPolicies, Ports: d.Port.Ports, Networks: d.Port.Networks}

	// Routers: only those with a port bound here; the slice also carries
	// routers realized elsewhere as BGP context.
	d.Router = router.Desired{Subnets: slice.Subnets, Networks: slice.Networks,
		SubnetPools: slice.SubnetPools, AddressScopes: slice.AddressScopes}
	for _, r := range ix.RoutersOn(host) {
		d.Router.Routers = append(d.Router.Routers, *r)
		for _, p := range ix.RouterPorts(r.ID) {
			d.Router.Ports = append(d.Router.Ports, *p)
		}
		for _, f := range ix.FloatingIPsOf(r.ID) {
			d.Router.FloatingIPs = append(d.Router.FloatingIPs, *f)
		}
	}

	// A VPN service lives where its router does; the router's NAT leaves
	// traffic to the peer CIDRs untranslated.
	d.VPN = slice.VPN()
	d.Router.NoSNATDestinations = d.VPN.NoSNAT()

	// DHCP picks the networks whose DHCP port is bound here itself (WithHost).
	d.DHCP = dhcp.Desired{Networks: slice.Networks, Subnets: slice.Subnets, Ports: slice.Ports}
	d.Metadata = metadataFor(d, host)

	d.LoadBalancer = loadbalancer.Desired{Collections: slice.Collections, Networks: slice.Networks, Subnets: slice.Subnets, Ports: slice.Ports}

	d.SecGroup = secgroup.Desired{Groups: slice.SecurityGroups, AddressGroups: slice.AddressGroups, Logs: slice.Logs}
	for _, p := range slice.Ports {
		if p.HostID == host {
			d.SecGroup.Ports = append(d.SecGroup.Ports, p)
		} else {
			d.SecGroup.Members = append(d.SecGroup.Members, p)
		}
	}

	// The slice holds the firewall groups of this node's ports only.
	d.Firewall = firewall.Desired{FirewallGroups: slice.FirewallGroups, FirewallPolicies: slice.FirewallPolicies,
		FirewallRules: slice.FirewallRules, Logs: slice.Logs, Ports: slice.Ports}

	if h := ix.Host(host); h != nil && len(h.BGPSpeakers) > 0 {
		// One embedded gobgp server per process, hence one speaker per
		// agent, as with Neutron's os-ken driver.
		if len(h.BGPSpeakers) > 1 {
			return nil, fmt.Errorf("hosts[%s].bgp_speakers: an agent runs one speaker, %d are listed: %w",
				host, len(h.BGPSpeakers), neutrino.ErrInvalid)
		}
		var sp *bgp.Speaker
		for i := range slice.BGPSpeakers {
			if slice.BGPSpeakers[i].ID == h.BGPSpeakers[0] {
				sp = &slice.BGPSpeakers[i]
			}
		}
		if sp == nil {
			return nil, fmt.Errorf("hosts[%s].bgp_speakers[0]: speaker %s: %w", host, h.BGPSpeakers[0], neutrino.ErrNotFound)
		}
		d.BGP = &bgp.Desired{
			Speaker:  *sp,
			Peers:    slice.BGPPeers,
			RouterID: h.TunnelIP,
			Inputs: bgp.Inputs{
				Subnets: slice.Subnets, Ports: slice.Ports, Routers: slice.Routers,
				FloatingIPs: slice.FloatingIPs, SubnetPools: slice.SubnetPools,
				AddressScopes: slice.AddressScopes,
			},
		}
	}
	return d, nil
}
