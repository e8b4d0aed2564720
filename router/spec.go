package router

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/ra"
	"github.com/neutrino-net/neutrino/port"
)

// routerSpec is one router as the kernel should hold it, compiled from a
// Desired: what the realizer diffs against what it reads back.
type routerSpec struct {
	ID        string
	Namespace string // qrouter-<id>, without the node prefix
	Ifaces    []*ifaceSpec
	Gateway   *ifaceSpec // one of Ifaces; nil without external gateway
	Routes    []routeSpec
	NAT       *natSpec   // nil without an IPv4 gateway address
	Scope     *scopeSpec // nil when no interface is in an address scope
}

// ifaceSpec is one router port: a veth pair, Tap in the host enslaved to
// Bridge, Name (qr-/qg-) in the router namespace.
type ifaceSpec struct {
	PortID  string
	Name    string
	Tap     string
	Bridge  string
	MAC     net.HardwareAddr
	MTU     int // 0: leave the kernel's
	Up      bool
	Gateway bool
	// Addrs are the port's fixed IPs with their subnets' prefix lengths and,
	// on the gateway, each floating IP as a /32 so that the router answers
	// ARP for it. Sorted.
	Addrs []netip.Prefix
	// Subnets are the CIDRs of the port's subnets (connected networks).
	Subnets []netip.Prefix
	// Scope is the address scope of the port's subnets per family
	// (famV4, famV6); "" for none, or when the port has no subnet of it.
	Scope [2]string
	// RA is what the interface advertises (nil: nothing); AcceptRA the
	// gateway's accept_ra ("": left alone). See ra.go.
	RA       *ra.Link
	AcceptRA string
}

// routeSpec is a route in the router's main table, with our rtm_protocol.
type routeSpec struct {
	Dst netip.Prefix
	// Via has one next hop, or several for an ECMP route (extra routes with
	// one destination and several next hops, as Neutron does). Sorted.
	Via []netip.Addr
	// Dev pins the route to a device: the gateway for default routes.
	Dev string
}

// natSpec is the NAT of a router with an IPv4 gateway address.
type natSpec struct {
	GatewayDev string
	GatewayIP  netip.Addr // the first IPv4 fixed IP of the gateway port, as in Neutron
	SNAT       bool
	// FIPs maps floating IP -> fixed IP.
	FIPs map[netip.Addr]netip.Addr
	// PF maps each forwarded external port of a floating IP to its
	// internal address and port (portforward.go); nil without any.
	PF map[pfKey]pfVal
	// NoSNAT are IPv4 destinations left untranslated (see nosnat.go).
	NoSNAT []netip.Prefix
}

// compile validates d and turns it into router specs, sorted by router ID.
// Any problem fails the whole compilation: nothing is realized from an
// invalid document.
func (d *Desired) compile() ([]*routerSpec, error) {
	ix, err := d.validate()
	if err != nil {
		return nil, err
	}
	fips, pfs := map[string][]int{}, map[string][]int{}
	for i := range d.FloatingIPs {
		f := &d.FloatingIPs[i]
		if _, ok := ix.routers[f.RouterID]; ok && f.Associated() {
			fips[f.RouterID] = append(fips[f.RouterID], i)
		} else if ok && len(f.PortForwardings) > 0 {
			pfs[f.RouterID] = append(pfs[f.RouterID], i)
		}
	}
	var (
		specs []*routerSpec
		errs  []error
		// floating IPs are unique on the node: one qg- answers for each.
		fipOwner = make(map[netip.Addr]int, len(d.FloatingIPs))
	)
	for i := range d.Routers {
		r := &d.Routers[i]
		if !r.Up() {
			continue
		}
		spec, err := d.compileRouter(ix, i)
		if err == nil {
			err = d.compileFIPs(spec, fips[r.ID], fipOwner)
		}
		if err == nil {
			err = d.compilePortForwardings(spec, pfs[r.ID], fipOwner)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		specs = append(specs, spec)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(specs, func(a, b *routerSpec) int { return cmpString(a.ID, b.ID) })
	return specs, nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (d *Desired) compileRouter(ix *index, ri int) (*routerSpec, error) {
	r := &d.Routers[ri]
	rpath := errdefs.Index("routers", ri)
	spec := &routerSpec{ID: r.ID, Namespace: naming.RouterNamespace(r.ID)}
	var errs []error
	names := map[string]string{} // device name -> port ID
	for _, pi := range ix.ports[r.ID] {
		p := &d.Ports[pi]
		ppath := errdefs.Index("ports", pi)
		iface, err := d.compileIface(ix, p, ppath)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := names[iface.Name]; dup {
			errs = append(errs, errdefs.Conflict(ppath+".id", "port %s and port %s share the device name %s (the first 11 characters of their IDs)", p.ID, other, iface.Name))
			continue
		}
		names[iface.Name] = p.ID
		if iface.Gateway {
			g := r.ExternalGatewayInfo
			switch {
			case g == nil:
				errs = append(errs, errdefs.Conflict(ppath+".device_owner", "gateway port of router %s, which has no external_gateway_info", r.ID))
				continue
			case spec.Gateway != nil:
				errs = append(errs, errdefs.Conflict(ppath+".device_owner", "second gateway port of router %s (first: %s)", r.ID, spec.Gateway.PortID))
				continue
			case p.NetworkID != g.NetworkID:
				errs = append(errs, errdefs.Conflict(ppath+".network_id", "gateway port on network %s, but router %s's gateway is on %s", p.NetworkID, r.ID, g.NetworkID))
				continue
			}
			spec.Gateway = iface
		}
		spec.Ifaces = append(spec.Ifaces, iface)
	}
	if r.ExternalGatewayInfo != nil && spec.Gateway == nil && len(errs) == 0 {
		errs = append(errs, errdefs.NotFound(rpath+".external_gateway_info", "no gateway port (device_owner %s, device_id %s) in ports", port.OwnerRouterGateway, r.ID))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(spec.Ifaces, func(a, b *ifaceSpec) int { return cmpString(a.Name, b.Name) })
	if err := checkOverlaps(spec, rpath); err != nil {
		return nil, err
	}
	if err := d.compileRoutes(ix, spec, ri); err != nil {
		return nil, err
	}
	if g := spec.Gateway; g != nil {
		for _, a := range g.Addrs {
			if a.Addr().Is4() {
				spec.NAT = &natSpec{GatewayDev: g.Name, GatewayIP: a.Addr(), SNAT: r.ExternalGatewayInfo.SNAT(), FIPs: map[netip.Addr]netip.Addr{},
					NoSNAT: noSNAT(d.NoSNATDestinations[r.ID])}
				break
			}
		}
	}
	spec.Scope = compileScope(spec)
	return spec, nil
}

func (d *Desired) compileIface(ix *index, p *port.Port, ppath string) (*ifaceSpec, error) {
	gw := p.DeviceOwner == port.OwnerRouterGateway
	name := naming.RouterInterface(p.ID)
	if gw {
		name = naming.RouterGateway(p.ID)
	}
	n := &d.Networks[ix.networks[p.NetworkID]]
	iface := &ifaceSpec{
		PortID:  p.ID,
		Name:    name,
		Tap:     naming.Tap(p.ID),
		Bridge:  naming.Bridge(p.NetworkID),
		MAC:     p.MACAddress.HardwareAddr(),
		MTU:     n.MTU,
		Up:      p.Up(),
		Gateway: gw,
	}
	var errs []error
	for k, f := range p.FixedIPs {
		si := ix.subnets[f.SubnetID]
		s := &d.Subnets[si]
		iface.Addrs = append(iface.Addrs, netip.PrefixFrom(f.IPAddress, s.CIDR.Bits()))
		if slices.Contains(iface.Subnets, s.CIDR) {
			continue
		}
		// One network routes in one scope per family (Neutron's
		// _validate_network_subnetpools), so one port has one mark per
		// family, as the L3 agent marks per device.
		fam, sc := familyOf(s.CIDR.Addr()), ix.scopes.Of(s.SubnetPoolID, s.CIDR)
		if len(iface.Subnets) > 0 && iface.Scope[fam] != sc && slices.ContainsFunc(iface.Subnets, func(p netip.Prefix) bool { return familyOf(p.Addr()) == fam }) {
			errs = append(errs, errdefs.Conflict(fmt.Sprintf("%s.fixed_ips[%d].subnet_id", ppath, k), "subnet %s is in address scope %q, another subnet of port %s in %q", s.ID, sc, p.ID, iface.Scope[fam]))
			continue
		}
		iface.Scope[fam] = sc
		iface.Subnets = append(iface.Subnets, s.CIDR)
	}
	sortPrefixes(iface.Addrs)
	iface.RA, iface.AcceptRA = d.raLink(ix, p, n), d.gatewayAcceptRA(ix, p)
	return iface, errors.Join(errs...)
}

func sortPrefixes(ps []netip.Prefix) { slices.SortFunc(ps, comparePrefix) }

// comparePrefix orders prefixes by address, then length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// checkOverlaps refuses two interfaces on overlapping subnets: the router
// could not tell where to send their addresses (Neutron refuses it too).
func checkOverlaps(spec *routerSpec, rpath string) error {
	var errs []error
	for i, a := range spec.Ifaces {
		for _, b := range spec.Ifaces[i+1:] {
			for _, pa := range a.Subnets {
				for _, pb := range b.Subnets {
					if pa.Overlaps(pb) {
						errs = append(errs, errdefs.Conflict(rpath, "ports %s (%s) and %s (%s) have overlapping subnets", a.PortID, pa, b.PortID, pb))
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

// onLink reports whether a is on one of the router's connected subnets and
// not one of its own addresses.
func (s *routerSpec) onLink(a netip.Addr) bool {
	for _, i := range s.Ifaces {
		for _, own := range i.Addrs {
			if own.Addr() == a {
				return false
			}
		}
		for _, p := range i.Subnets {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

func (d *Desired) compileRoutes(ix *index, spec *routerSpec, ri int) error {
	r := &d.Routers[ri]
	rpath := errdefs.Index("routers", ri)
	var errs []error
	if g := spec.Gateway; g != nil {
		done := map[bool]bool{} // by Is4
		for _, f := range d.gatewayFixedIPs(ix, spec.ID, g.PortID) {
			s := &d.Subnets[f]
			if !s.HasGateway() || done[s.GatewayIP.Is4()] {
				continue
			}
			if !spec.onLink(s.GatewayIP) {
				errs = append(errs, errdefs.Conflict(errdefs.Index("subnets", f)+".gateway_ip", "%s is router %s's own gateway address", s.GatewayIP, r.ID))
				continue
			}
			done[s.GatewayIP.Is4()] = true
			dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
			if !s.GatewayIP.Is4() {
				dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
			}
			spec.Routes = append(spec.Routes, routeSpec{Dst: dst, Via: []netip.Addr{s.GatewayIP}, Dev: g.Name})
		}
	}
	defaults := len(spec.Routes)
	byDst := map[netip.Prefix]int{}
	for i, rt := range r.Routes {
		path := rpath + "." + errdefs.Index("routes", i)
		if !spec.onLink(rt.NextHop) {
			errs = append(errs, errdefs.Invalid(path+".nexthop", "%s is not on a subnet connected to router %s", rt.NextHop, r.ID))
			continue
		}
		dst := rt.Destination.Masked()
		if k, ok := byDst[dst]; ok {
			if !slices.Contains(spec.Routes[k].Via, rt.NextHop) {
				spec.Routes[k].Via = append(spec.Routes[k].Via, rt.NextHop)
			}
			continue
		}
		if slices.ContainsFunc(spec.Routes[:defaults], func(d routeSpec) bool { return d.Dst == dst }) {
			errs = append(errs, errdefs.Conflict(path+".destination", "%s is the default route of router %s's gateway", dst, r.ID))
			continue
		}
		byDst[dst] = len(spec.Routes)
		spec.Routes = append(spec.Routes, routeSpec{Dst: dst, Via: []netip.Addr{rt.NextHop}})
	}
	for i := range spec.Routes {
		slices.SortFunc(spec.Routes[i].Via, netip.Addr.Compare)
	}
	return errors.Join(errs...)
}

// gatewayFixedIPs returns the subnet positions of the gateway port's fixed
// IPs, in the port's order.
func (d *Desired) gatewayFixedIPs(ix *index, routerID, portID string) []int {
	for _, pi := range ix.ports[routerID] {
		if p := &d.Ports[pi]; p.ID == portID {
			out := make([]int, 0, len(p.FixedIPs))
			for _, f := range p.FixedIPs {
				out = append(out, ix.subnets[f.SubnetID])
			}
			return out
		}
	}
	return nil
}

// compileFIPs adds the router's floating IPs to its NAT and its gateway's
// addresses. owner records which FIP holds an address across the node.
func (d *Desired) compileFIPs(spec *routerSpec, idx []int, owner map[netip.Addr]int) error {
	var (
		errs  []error
		fixed = make(map[netip.Addr]int, len(idx))
		own   = map[netip.Addr]bool{}
		gwNet = d.routerGatewayNetwork(spec.ID)
	)
	if spec.Gateway != nil {
		for _, p := range spec.Gateway.Addrs {
			own[p.Addr()] = true
		}
	}
	if spec.NAT != nil && len(idx) > 0 {
		spec.NAT.FIPs = make(map[netip.Addr]netip.Addr, len(idx))
		spec.Gateway.Addrs = slices.Grow(spec.Gateway.Addrs, len(idx))
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
		case !spec.reaches(f.FixedIPAddress):
			errs = append(errs, errdefs.Invalid(path("fixed_ip_address"), "%s is not on a subnet attached to router %s", f.FixedIPAddress, spec.ID))
			continue
		case own[f.FloatingIPAddress]:
			errs = append(errs, errdefs.Conflict(path("floating_ip_address"), "%s is router %s's gateway address", f.FloatingIPAddress, spec.ID))
			continue
		}
		if j, dup := owner[f.FloatingIPAddress]; dup {
			errs = append(errs, errdefs.Conflict(path("floating_ip_address"), "%s is also floatingips[%d]", f.FloatingIPAddress, j))
			continue
		}
		if j, dup := fixed[f.FixedIPAddress]; dup {
			errs = append(errs, errdefs.Conflict(path("fixed_ip_address"), "%s is also the target of floatingips[%d]", f.FixedIPAddress, j))
			continue
		}
		owner[f.FloatingIPAddress], fixed[f.FixedIPAddress] = i, i
		spec.NAT.FIPs[f.FloatingIPAddress] = f.FixedIPAddress
		spec.Gateway.Addrs = append(spec.Gateway.Addrs, netip.PrefixFrom(f.FloatingIPAddress, 32))
	}
	if spec.Gateway != nil {
		sortPrefixes(spec.Gateway.Addrs)
	}
	return errors.Join(errs...)
}

func (d *Desired) routerGatewayNetwork(id string) string {
	for i := range d.Routers {
		if r := &d.Routers[i]; r.ID == id && r.ExternalGatewayInfo != nil {
			return r.ExternalGatewayInfo.NetworkID
		}
	}
	return ""
}

// holds reports whether the interface (nil: none) carries address a.
func (i *ifaceSpec) holds(a netip.Addr) bool {
	if i == nil {
		return false
	}
	// Addrs is sorted by address, then length: find the first with a.
	k, _ := slices.BinarySearchFunc(i.Addrs, netip.PrefixFrom(a, 0), comparePrefix)
	return k < len(i.Addrs) && i.Addrs[k].Addr() == a
}

// reaches reports whether a is on one of the router's internal subnets or
// behind one of its extra routes: where a floating IP may point.
func (s *routerSpec) reaches(a netip.Addr) bool {
	for _, i := range s.Ifaces {
		if i.Gateway {
			continue
		}
		for _, p := range i.Subnets {
			if p.Contains(a) {
				return true
			}
		}
	}
	for _, r := range s.Routes {
		if r.Dev == "" && r.Dst.Contains(a) {
			return true
		}
	}
	return false
}
