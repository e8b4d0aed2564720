package router

import (
	"errors"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

// ValidateHA checks the HA routers of a document the way Neutron schedules
// them: an HA router runs on the hosts of its HA ports (device_owner
// network:router_ha_interface, device_id the router, binding:host_id the
// host), all on one HA network with one fixed IP each in 169.254.192.0/18,
// at most one per host; its ha_vrid is 1..254 and unique among the HA
// routers of that HA network. ha_vrid on a router that is not HA, and HA
// ports of a router that is not HA, are refused: they would be ignored.
// Paths are routers[i].… and ports[j].….
func ValidateHA(routers []Router, ports []port.Port) error {
	var errs []error
	byID := make(map[string]int, len(routers))
	for i := range routers {
		byID[routers[i].ID] = i
	}
	haPorts := map[string][]int{}
	for j := range ports {
		p := &ports[j]
		if p.DeviceOwner != port.OwnerRouterHAInterface {
			continue
		}
		path := errdefs.Index("ports", j)
		i, ok := byID[p.DeviceID]
		switch {
		case !ok:
			errs = append(errs, errdefs.NotFound(path+".device_id", "%s: no such router for HA port %s", p.DeviceID, p.ID))
			continue
		case !routers[i].HA:
			errs = append(errs, errdefs.Invalid(path+".device_owner", "%s, but router %s is not ha", p.DeviceOwner, p.DeviceID))
			continue
		case p.HostID == "":
			errs = append(errs, errdefs.Invalid(path+".binding:host_id", "HA port %s of router %s: required (the host the member runs on)", p.ID, p.DeviceID))
		}
		if len(p.FixedIPs) != 1 || !HANetCIDR.Contains(p.FixedIPs[0].IPAddress) {
			errs = append(errs, errdefs.Invalid(path+".fixed_ips", "HA port %s of router %s: exactly one address in the HA network %s", p.ID, p.DeviceID, HANetCIDR))
		}
		haPorts[p.DeviceID] = append(haPorts[p.DeviceID], j)
	}
	type netVRID struct {
		net  string
		vrid int
	}
	vrids := map[netVRID]int{}
	for i := range routers {
		r := &routers[i]
		path := errdefs.Index("routers", i)
		if !r.HA {
			if r.HAVRID != 0 {
				errs = append(errs, errdefs.Invalid(path+".ha_vrid", "%d on router %s, which is not ha", r.HAVRID, r.ID))
			}
			continue
		}
		if r.HAVRID < 1 || r.HAVRID > MaxVRID {
			errs = append(errs, errdefs.Invalid(path+".ha_vrid", "%d: an HA router needs a VRID in 1..%d", r.HAVRID, MaxVRID))
		}
		js := haPorts[r.ID]
		if len(js) == 0 {
			errs = append(errs, errdefs.NotFound(path+".ha", "router %s is ha but has no port with device_owner %s: it is scheduled nowhere", r.ID, port.OwnerRouterHAInterface))
			continue
		}
		net := ports[js[0]].NetworkID
		hosts := map[string]int{}
		for _, j := range js {
			p := &ports[j]
			ppath := errdefs.Index("ports", j)
			if p.NetworkID != net {
				errs = append(errs, errdefs.Conflict(ppath+".network_id", "HA port %s of router %s is on %s, its other HA ports on %s: one HA network per router", p.ID, r.ID, p.NetworkID, net))
			}
			if k, dup := hosts[p.HostID]; dup && p.HostID != "" {
				errs = append(errs, errdefs.Conflict(ppath+".binding:host_id", "router %s has HA ports %s and %s on host %s", r.ID, ports[k].ID, p.ID, p.HostID))
			}
			hosts[p.HostID] = j
		}
		key := netVRID{net, r.HAVRID}
		if k, dup := vrids[key]; dup && r.HAVRID != 0 {
			errs = append(errs, errdefs.Conflict(path+".ha_vrid", "%d is router %s's too on HA network %s", r.HAVRID, routers[k].ID, net))
		}
		vrids[key] = i
	}
	return errors.Join(errs...)
}

// haHeld is what only the master of a compiled router holds: every qr- and
// qg- address (with the floating IPs as /32 on qg-), and its routes
// (keepalived's virtual_ipaddress_excluded and virtual_routes in Neutron's
// keepalived.conf).
func (s *routerSpec) haHeld() ([]HAVIP, []HARoute) {
	var vips []HAVIP
	for _, ifc := range s.Ifaces {
		for _, p := range ifc.Addrs {
			vips = append(vips, HAVIP{Dev: ifc.Name, Prefix: p})
		}
	}
	routes := make([]HARoute, 0, len(s.Routes))
	for _, rt := range s.Routes {
		routes = append(routes, HARoute{Dst: rt.Dst, Via: append([]netip.Addr(nil), rt.Via...), Dev: rt.Dev})
	}
	return vips, routes
}
