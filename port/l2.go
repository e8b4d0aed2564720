package port

import (
	"net/netip"

	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/subnet"
)

// PlugsInstance reports whether the port attaches an instance (a VM or a
// container), which the port realizer plugs: every port but router ports
// of any kind (IsRouterOwned), DHCP, floating IP and load-balancer VIP
// ports, whose devices the router, DHCP and loadbalancer realizers make (or
// which have none).
func (p *Port) PlugsInstance() bool {
	switch {
	case p.IsRouterOwned(), p.DeviceOwner == OwnerDHCP, p.DeviceOwner == OwnerFloatingIP,
		p.DeviceOwner == OwnerLoadBalancer, p.DeviceOwner == OwnerLoadBalancerV2:
		return false
	}
	return true
}

// L2ForHost selects from a topology's collections what the network and port
// realizers of host realize. tunnelIPs maps host names to their tunnel
// addresses (neutrino.Host.TunnelIP).
//
// The network realizer gets every network with at least one port bound to
// host, host's tunnel address, and as remote endpoints the ports of those
// networks bound to other hosts (ports of hosts without a tunnel address
// are left out: nothing can reach them). The port realizer gets the
// instance ports bound to host (PlugsInstance), their networks and the
// subnets of those networks. Unbound ports (no binding:host_id) are in
// neither.
func L2ForHost(host string, tunnelIPs map[string]netip.Addr, networks []network.Network, subnets []subnet.Subnet, ports []Port) (network.Desired, Desired) {
	here := map[string]bool{}  // networks with a port on host
	plugs := map[string]bool{} // networks with an instance port on host
	var pd Desired
	for _, p := range ports {
		if p.HostID != host || host == "" {
			continue
		}
		here[p.NetworkID] = true
		if p.PlugsInstance() {
			plugs[p.NetworkID] = true
			pd.Ports = append(pd.Ports, p)
		}
	}
	nd := network.Desired{LocalIP: tunnelIPs[host]}
	for _, n := range networks {
		if here[n.ID] {
			nd.Networks = append(nd.Networks, n)
		}
		if plugs[n.ID] {
			pd.Networks = append(pd.Networks, n)
		}
	}
	for _, s := range subnets {
		if plugs[s.NetworkID] {
			pd.Subnets = append(pd.Subnets, s)
		}
	}
	for _, p := range ports {
		vtep, ok := tunnelIPs[p.HostID]
		if p.HostID == "" || p.HostID == host || !here[p.NetworkID] || !ok || !vtep.IsValid() {
			continue
		}
		e := network.Endpoint{NetworkID: p.NetworkID, PortID: p.ID, MAC: p.MACAddress.HardwareAddr(), VTEP: vtep}
		for _, f := range p.FixedIPs {
			e.IPs = append(e.IPs, f.IPAddress)
		}
		nd.Remote = append(nd.Remote, e)
	}
	return nd, pd
}
