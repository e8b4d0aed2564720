package neutrino

import (
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
)

// routers checks each router against its ports: the gateway network is
// external and has the router's one gateway port, the interfaces are on
// distinct, non-overlapping subnets, all ports are on one host, and extra
// routes lead to a connected subnet.
func (v *validator) routers() {
	for i := range v.t.Routers {
		r := &v.t.Routers[i]
		if r.ID == "" || v.x.Router(r.ID) != r {
			continue
		}
		o := obj{"routers", i, "router", r.ID}
		v.routerGateway(o, r)
		v.routerInterfaces(o, r)
		v.routerRoutes(o, r)
	}
	for i := range v.t.Ports {
		p := &v.t.Ports[i]
		r := v.x.Router(p.DeviceID)
		if p.DeviceOwner != port.OwnerRouterGateway || r == nil {
			continue
		}
		o := obj{"ports", i, "port", p.ID}
		switch g := r.ExternalGatewayInfo; {
		case g == nil:
			v.report(o, errdefs.Invalid("device_owner", "%s, but router %s has no external_gateway_info", p.DeviceOwner, r.ID))
		case g.NetworkID != p.NetworkID:
			v.report(o, errdefs.Invalid("network_id", "%s, but router %s's gateway is on network %s", p.NetworkID, r.ID, g.NetworkID))
		}
		if gw := v.x.GatewayPort(r.ID); gw != p {
			v.report(o, errdefs.Conflict("device_id", "router %s already has gateway port %s", r.ID, gw.ID))
		}
	}
}

func (v *validator) routerGateway(o obj, r *router.Router) {
	g := r.ExternalGatewayInfo
	if g == nil || g.NetworkID == "" {
		return
	}
	switch n := v.x.Network(g.NetworkID); {
	case n == nil:
		v.report(o, errdefs.NotFound("external_gateway_info.network_id", "network %s does not exist", g.NetworkID))
		return
	case !n.External:
		v.report(o, errdefs.Invalid("external_gateway_info.network_id", "network %s is not external (router:external is false)", g.NetworkID))
	}
	gw := v.x.GatewayPort(r.ID)
	if gw == nil {
		v.report(o, errdefs.NotFound("external_gateway_info", "no port has device_owner %s and device_id %s: the gateway needs its port", port.OwnerRouterGateway, r.ID))
		return
	}
	for j, want := range g.ExternalFixedIPs {
		if !hasFixedIP(gw, want) {
			v.report(o, errdefs.Invalid(errdefs.Index("external_gateway_info.external_fixed_ips", j), "%s is not among the fixed IPs of gateway port %s", fixedIPString(want), gw.ID))
		}
	}
}

// hasFixedIP reports whether p has a fixed IP matching want, whose subnet
// or address may be left out.
func hasFixedIP(p *port.Port, want port.FixedIP) bool {
	for _, f := range p.FixedIPs {
		if (want.SubnetID == "" || want.SubnetID == f.SubnetID) && (!want.IPAddress.IsValid() || want.IPAddress == f.IPAddress) {
			return true
		}
	}
	return false
}

func fixedIPString(f port.FixedIP) string {
	switch {
	case f.SubnetID == "":
		return f.IPAddress.String()
	case !f.IPAddress.IsValid():
		return "subnet " + f.SubnetID
	}
	return f.IPAddress.String() + " on subnet " + f.SubnetID
}

func (v *validator) routerInterfaces(o obj, r *router.Router) {
	bySubnet := map[string]string{} // subnet ID → port ID
	var host, hostPort string
	var cidrs []netip.Prefix
	var owners []string
	for _, p := range v.x.RouterPorts(r.ID) {
		po := v.portObj(p)
		if p.HostID != "" {
			if host == "" {
				host, hostPort = p.HostID, p.ID
			} else if p.HostID != host {
				v.report(po, errdefs.Conflict("binding:host_id", "%s, but port %s of the same router %s is bound to %s: a router lives on one host", p.HostID, hostPort, r.ID, host))
			}
		}
		if p.DeviceOwner != port.OwnerRouterInterface {
			continue
		}
		if len(p.FixedIPs) == 0 {
			v.report(po, errdefs.Invalid("fixed_ips", "a router interface needs an address"))
		}
		for j, f := range p.FixedIPs {
			s := v.x.Subnet(f.SubnetID)
			if s == nil || !canonical(s.CIDR) {
				continue
			}
			path := errdefs.Index("fixed_ips", j) + ".subnet_id"
			if other, dup := bySubnet[s.ID]; dup {
				if other != p.ID {
					v.report(po, errdefs.Conflict(path, "router %s already has port %s on subnet %s", r.ID, other, s.ID))
				}
				continue
			}
			bySubnet[s.ID] = p.ID
			for k, c := range cidrs {
				if c.Overlaps(s.CIDR) {
					v.report(po, errdefs.Conflict(path, "subnet %s %s overlaps %s, which router %s reaches through port %s", s.ID, s.CIDR, c, r.ID, owners[k]))
				}
			}
			cidrs, owners = append(cidrs, s.CIDR), append(owners, p.ID)
		}
	}
}

func (v *validator) routerRoutes(o obj, r *router.Router) {
	for j, rt := range r.Routes {
		if !rt.NextHop.IsValid() || v.connected(r.ID, rt.NextHop) {
			continue
		}
		v.report(o, errdefs.Invalid(errdefs.Index("routes", j)+".nexthop", "%s is on none of the router's subnets", rt.NextHop))
	}
}

// connected reports whether a lies in a subnet the router has a port on.
func (v *validator) connected(routerID string, a netip.Addr) bool {
	for _, p := range v.x.RouterPorts(routerID) {
		for _, f := range p.FixedIPs {
			if s := v.x.Subnet(f.SubnetID); s != nil && s.CIDR.Contains(a) {
				return true
			}
		}
	}
	return false
}

// portObj names a port of the document by pointer.
func (v *validator) portObj(p *port.Port) obj {
	if v.portPos == nil {
		v.portPos = make(map[*port.Port]int, len(v.t.Ports))
		for i := range v.t.Ports {
			v.portPos[&v.t.Ports[i]] = i
		}
	}
	return obj{"ports", v.portPos[p], "port", p.ID}
}

// floatingIPs checks each FIP's network, address and association.
func (v *validator) floatingIPs() {
	type assoc struct {
		port string
		addr netip.Addr
	}
	addrs := map[netip.Addr]int{}
	assocs := map[assoc]int{}
	for i := range v.t.FloatingIPs {
		f := &v.t.FloatingIPs[i]
		o := obj{"floatingips", i, "floating IP", f.ID}
		if f.FloatingIPAddress.IsValid() {
			if j, dup := addrs[f.FloatingIPAddress]; dup {
				v.report(o, errdefs.Conflict("floating_ip_address", "%s is also floatingips[%d]'s (%s)", f.FloatingIPAddress, j, v.t.FloatingIPs[j].ID))
			} else {
				addrs[f.FloatingIPAddress] = i
			}
		}
		v.fipNetwork(o, f)
		if !f.Associated() {
			v.fipPortForwardings(o, f, v.fipRouter(o, f))
			continue
		}
		k := assoc{f.PortID, f.FixedIPAddress}
		if j, dup := assocs[k]; dup {
			v.report(o, errdefs.Conflict("fixed_ip_address", "%s of port %s already has floatingips[%d] (%s)", f.FixedIPAddress, f.PortID, j, v.t.FloatingIPs[j].ID))
		} else {
			assocs[k] = i
		}
		v.fipAssociation(o, f)
	}
}

func (v *validator) fipNetwork(o obj, f *router.FloatingIP) {
	n := v.x.Network(f.FloatingNetworkID)
	switch {
	case f.FloatingNetworkID == "":
		return
	case n == nil:
		v.report(o, errdefs.NotFound("floating_network_id", "network %s does not exist", f.FloatingNetworkID))
		return
	case !n.External:
		v.report(o, errdefs.Invalid("floating_network_id", "network %s is not external (router:external is false)", n.ID))
	}
	if !f.FloatingIPAddress.IsValid() {
		return
	}
	inSubnet := false
	for _, s := range v.x.SubnetsOf(n.ID) {
		inSubnet = inSubnet || s.CIDR.Contains(f.FloatingIPAddress)
	}
	if !inSubnet {
		v.report(o, errdefs.Invalid("floating_ip_address", "%s is in no subnet of network %s", f.FloatingIPAddress, n.ID))
		return
	}
	for _, p := range v.x.PortsOn(n.ID) {
		if p.DeviceOwner == port.OwnerFloatingIP && p.DeviceID == f.ID {
			continue // Neutron's own port for this FIP
		}
		for _, fi := range p.FixedIPs {
			if fi.IPAddress == f.FloatingIPAddress {
				v.report(o, errdefs.Conflict("floating_ip_address", "%s is also a fixed IP of port %s", f.FloatingIPAddress, p.ID))
			}
		}
	}
}

func (v *validator) fipAssociation(o obj, f *router.FloatingIP) {
	p := v.x.Port(f.PortID)
	if p == nil {
		v.report(o, errdefs.NotFound("port_id", "port %s does not exist", f.PortID))
		return
	}
	var fixed *port.FixedIP
	for j := range p.FixedIPs {
		if p.FixedIPs[j].IPAddress == f.FixedIPAddress {
			fixed = &p.FixedIPs[j]
		}
	}
	if fixed == nil {
		v.report(o, errdefs.Invalid("fixed_ip_address", "%s is not a fixed IP of port %s", f.FixedIPAddress, p.ID))
	}
	r := v.fipRouter(o, f)
	if r == nil || fixed == nil {
		return
	}
	for _, rp := range v.x.RouterPorts(r.ID) {
		if rp.DeviceOwner == port.OwnerRouterInterface && hasFixedIP(rp, port.FixedIP{SubnetID: fixed.SubnetID}) {
			return
		}
	}
	v.report(o, errdefs.Invalid("router_id", "router %s has no interface on subnet %s of fixed IP %s: the floating network is not reachable from it", r.ID, fixed.SubnetID, f.FixedIPAddress))
}

// fipRouter checks the FIP's router, when it names one: it exists and has
// its gateway on the floating network. A FIP without a port may name its
// router too (Neutron reports port-forwarding FIPs so).
func (v *validator) fipRouter(o obj, f *router.FloatingIP) *router.Router {
	if f.RouterID == "" {
		return nil
	}
	r := v.x.Router(f.RouterID)
	if r == nil {
		v.report(o, errdefs.NotFound("router_id", "router %s does not exist", f.RouterID))
		return nil
	}
	if g := r.ExternalGatewayInfo; g == nil || g.NetworkID != f.FloatingNetworkID {
		v.report(o, errdefs.Invalid("router_id", "router %s has no gateway on floating network %s", r.ID, f.FloatingNetworkID))
	}
	return r
}
