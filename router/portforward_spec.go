package router

import (
	"errors"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

// compilePortForwardings adds the port forwardings of the router's
// floating IPs idx (port_forwardings, no port_id) to its NAT, and each such
// floating IP to the gateway's addresses (Neutron's add_floating_ip: the
// router answers ARP for it). owner records which FIP holds an address
// across the node, shared with compileFIPs.
func (d *Desired) compilePortForwardings(spec *routerSpec, idx []int, owner map[netip.Addr]int) error {
	if len(idx) == 0 {
		return nil
	}
	var (
		errs  []error
		gwNet = d.routerGatewayNetwork(spec.ID)
		ports = map[string]int{}
	)
	for i := range d.Ports {
		ports[d.Ports[i].ID] = i
	}
	for _, i := range idx {
		f := &d.FloatingIPs[i]
		path := func(field string) string { return errdefs.Index("floatingips", i) + "." + field }
		switch {
		case spec.NAT == nil:
			errs = append(errs, errdefs.Conflict(path("router_id"), "router %s has no IPv4 external gateway", spec.ID))
			continue
		case f.FloatingNetworkID != gwNet:
			errs = append(errs, errdefs.Conflict(path("floating_network_id"), "%s is not router %s's gateway network %s", f.FloatingNetworkID, spec.ID, gwNet))
			continue
		case f.FloatingIPAddress == spec.NAT.GatewayIP || spec.Gateway.holds(f.FloatingIPAddress):
			errs = append(errs, errdefs.Conflict(path("floating_ip_address"), "%s is router %s's gateway address", f.FloatingIPAddress, spec.ID))
			continue
		}
		if j, dup := owner[f.FloatingIPAddress]; dup {
			errs = append(errs, errdefs.Conflict(path("floating_ip_address"), "%s is also floatingips[%d]", f.FloatingIPAddress, j))
			continue
		}
		bad := false
		for k := range f.PortForwardings {
			pf := &f.PortForwardings[k]
			pfPath := path(errdefs.Index("port_forwardings", k)) + ".internal_ip_address"
			if !spec.reaches(pf.InternalIPAddress) {
				errs = append(errs, errdefs.Invalid(pfPath, "%s is not on a subnet attached to router %s", pf.InternalIPAddress, spec.ID))
				bad = true
			}
			// The instance's port is in the document when the caller
			// sliced it in; then the address must be one of its own.
			if j, ok := ports[pf.InternalPortID]; ok && !hasAddr(d.Ports[j].FixedIPs, pf.InternalIPAddress) {
				errs = append(errs, errdefs.Invalid(pfPath, "%s is not a fixed IP of port %s", pf.InternalIPAddress, pf.InternalPortID))
				bad = true
			}
		}
		if bad {
			continue
		}
		owner[f.FloatingIPAddress] = i
		if spec.NAT.PF == nil {
			spec.NAT.PF = map[pfKey]pfVal{}
		}
		for k := range f.PortForwardings {
			f.PortForwardings[k].elements(f.FloatingIPAddress, spec.NAT.PF)
		}
		spec.Gateway.Addrs = append(spec.Gateway.Addrs, netip.PrefixFrom(f.FloatingIPAddress, 32))
	}
	if spec.Gateway != nil {
		sortPrefixes(spec.Gateway.Addrs)
	}
	return errors.Join(errs...)
}

func hasAddr(ips []port.FixedIP, a netip.Addr) bool {
	for _, f := range ips {
		if f.IPAddress == a {
			return true
		}
	}
	return false
}
