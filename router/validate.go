package router

import (
	"errors"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/subnet"
)

// MaxRoutes is Neutron's max_routes: extra routes per router.
const MaxRoutes = 30

// Validate checks the router on its own, with paths relative to it: the ID,
// the gateway's network and external fixed IPs (each names a subnet, an
// address, or both), and extra routes (canonical destinations, next hops of
// the same family, at most 30, no duplicates; one destination may have
// several next hops, as Neutron allows). That the gateway network is
// external, that the router has exactly one gateway port, and that next hops
// are on its subnets are the document's to check
// (neutrino.Topology.Validate).
func (r *Router) Validate() error {
	var errs []error
	if r.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if g := r.ExternalGatewayInfo; g != nil {
		errs = append(errs, errdefs.Prefix("external_gateway_info", g.validate()))
	}
	errs = append(errs, r.validateRoutes(), errdefs.Refuse(r, routerRefusals()))
	return errors.Join(errs...)
}

func (g *GatewayInfo) validate() error {
	var errs []error
	if g.NetworkID == "" {
		errs = append(errs, errdefs.Invalid("network_id", "required"))
	}
	for i, f := range g.ExternalFixedIPs {
		path := errdefs.Index("external_fixed_ips", i)
		switch {
		case f.SubnetID == "" && !f.IPAddress.IsValid():
			errs = append(errs, errdefs.Invalid(path, "give a subnet_id, an ip_address or both"))
		case f.IPAddress.IsValid():
			errs = append(errs, subnet.ValidateAddr(path+".ip_address", f.IPAddress))
		}
	}
	return errors.Join(errs...)
}

func (r *Router) validateRoutes() error {
	var errs []error
	if len(r.Routes) > MaxRoutes {
		errs = append(errs, errdefs.Invalid("routes", "%d routes exceed the maximum of %d", len(r.Routes), MaxRoutes))
	}
	seen := make(map[Route]int, len(r.Routes))
	for i, rt := range r.Routes {
		path := errdefs.Index("routes", i)
		err := errors.Join(subnet.ValidatePrefix(path+".destination", rt.Destination), subnet.ValidateAddr(path+".nexthop", rt.NextHop))
		if err == nil && rt.Destination.Addr().BitLen() != rt.NextHop.BitLen() {
			err = errdefs.Invalid(path+".nexthop", "%s is not of the family of destination %s", rt.NextHop, rt.Destination)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := seen[rt]; dup {
			errs = append(errs, errdefs.Conflict(path, "repeats routes[%d]", j))
		}
		seen[rt] = i
	}
	return errors.Join(errs...)
}

// Validate checks the floating IP on its own, with paths relative to it.
// Floating IPs are IPv4, as in Neutron. An associated FIP (port_id set)
// names the fixed IP it translates to and the router that does it: Neutron
// computes both and returns them, and the router realizer needs them. An
// unassociated FIP has no fixed IP; it may name a router (Neutron reports a
// FIP used only by port forwardings with router_id set and port_id null),
// and is then simply not NATed. References are the document's to check.
func (f *FloatingIP) Validate() error {
	var errs []error
	if f.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if f.FloatingNetworkID == "" {
		errs = append(errs, errdefs.Invalid("floating_network_id", "required"))
	}
	if err := subnet.ValidateAddr("floating_ip_address", f.FloatingIPAddress); err != nil {
		errs = append(errs, err)
	} else if !f.FloatingIPAddress.Is4() {
		errs = append(errs, errdefs.Invalid("floating_ip_address", "%s: floating IPs are IPv4", f.FloatingIPAddress))
	}
	if f.Associated() {
		if !f.FixedIPAddress.IsValid() {
			errs = append(errs, errdefs.Invalid("fixed_ip_address", "required with port_id: the port's IPv4 address the FIP translates to"))
		} else if err := subnet.ValidateAddr("fixed_ip_address", f.FixedIPAddress); err != nil {
			errs = append(errs, err)
		} else if !f.FixedIPAddress.Is4() {
			errs = append(errs, errdefs.Invalid("fixed_ip_address", "%s: a floating IP translates to an IPv4 address", f.FixedIPAddress))
		}
		if f.RouterID == "" {
			errs = append(errs, errdefs.Invalid("router_id", "required with port_id: the router that connects the port's subnet to the floating network"))
		}
	} else {
		if f.FixedIPAddress.IsValid() {
			errs = append(errs, errdefs.Invalid("fixed_ip_address", "%s given without port_id", f.FixedIPAddress))
		}
	}
	errs = append(errs, f.validatePortForwardings(), errdefs.Refuse(f, floatingIPRefusals()))
	return errors.Join(errs...)
}
