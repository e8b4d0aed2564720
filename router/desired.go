package router

import (
	"errors"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// Desired is the router state of one node: the complete set of routers the
// node realizes, with what the realizer needs to know about them. Routers
// not in it whose namespaces the realizer owns are removed.
type Desired struct {
	// Routers realized on this node. A router whose admin_state_up is false
	// is not realized (its namespace is removed), as with Neutron's L3
	// agent, which the server hands only routers that are up.
	Routers []Router `json:"routers,omitempty"`
	// Ports holds the routers' interface ports (device_owner
	// network:router_interface) and gateway ports (network:router_gateway),
	// with device_id the router's ID. Other ports are ignored.
	Ports []port.Port `json:"ports,omitempty"`
	// Subnets holds (at least) the subnets of those ports' fixed IPs: their
	// prefix lengths, the external gateway, the connected subnets that extra
	// routes and floating IPs must lie on.
	Subnets []subnet.Subnet `json:"subnets,omitempty"`
	// Networks holds (at least) the networks of those ports: MTU and bridge.
	Networks []network.Network `json:"networks,omitempty"`
	// FloatingIPs of the routers (router_id); others are ignored.
	FloatingIPs []FloatingIP `json:"floatingips,omitempty"`
	// SubnetPools holds (at least) the pools named by those subnets'
	// subnetpool_id, and AddressScopes the scopes of those pools: a subnet
	// in the address scope of the router's external network is routed to
	// and from it without NAT, and traffic between subnets of different
	// scopes is dropped (see the package documentation).
	SubnetPools   []ipam.SubnetPool   `json:"subnetpools,omitempty"`
	AddressScopes []ipam.AddressScope `json:"address_scopes,omitempty"`
	// NoSNATDestinations maps a router ID to destinations its NAT leaves
	// untranslated (see nosnat.go): the peer CIDRs of its VPN connections,
	// vpn.Desired.NoSNAT.
	NoSNATDestinations map[string][]netip.Prefix `json:"-"`
}

// index holds the objects of a Desired by ID, with their positions for
// error paths.
type index struct {
	routers  map[string]int
	subnets  map[string]int
	networks map[string]int
	ports    map[string][]int // router ID -> positions of its ports
	scopes   *ipam.Scopes
}

// validate checks every object the realizer uses and the references between
// them, reporting all problems with their paths. It returns the index the
// compiler works from.
func (d *Desired) validate() (*index, error) {
	ix := &index{
		routers:  make(map[string]int, len(d.Routers)),
		subnets:  make(map[string]int, len(d.Subnets)),
		networks: make(map[string]int, len(d.Networks)),
		ports:    make(map[string][]int, len(d.Routers)),
		scopes:   ipam.NewScopes(d.SubnetPools, d.AddressScopes),
	}
	var errs []error
	for i := range d.Routers {
		r := &d.Routers[i]
		path := errdefs.Index("routers", i)
		if err := r.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
		}
		if j, dup := ix.routers[r.ID]; dup && r.ID != "" {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats routers[%d]", r.ID, j))
			continue
		}
		ix.routers[r.ID] = i
	}
	for i := range d.Networks {
		n := &d.Networks[i]
		if _, dup := ix.networks[n.ID]; dup {
			errs = append(errs, errdefs.Conflict(errdefs.Index("networks", i)+".id", "%s repeats an earlier network", n.ID))
			continue
		}
		ix.networks[n.ID] = i
	}
	for i := range d.Subnets {
		s := &d.Subnets[i]
		if _, dup := ix.subnets[s.ID]; dup {
			errs = append(errs, errdefs.Conflict(errdefs.Index("subnets", i)+".id", "%s repeats an earlier subnet", s.ID))
			continue
		}
		ix.subnets[s.ID] = i
	}
	usedNets, usedSubnets := map[string]bool{}, map[string]bool{}
	seenPorts := map[string]int{}
	for i := range d.Ports {
		p := &d.Ports[i]
		if !p.IsRouterPort() {
			continue
		}
		if _, ok := ix.routers[p.DeviceID]; !ok {
			continue
		}
		path := errdefs.Index("ports", i)
		if j, dup := seenPorts[p.ID]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats ports[%d]", p.ID, j))
			continue
		}
		seenPorts[p.ID] = i
		if err := p.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		ix.ports[p.DeviceID] = append(ix.ports[p.DeviceID], i)
		if _, ok := ix.networks[p.NetworkID]; !ok {
			errs = append(errs, errdefs.NotFound(path+".network_id", "network %s is not in networks", p.NetworkID))
		}
		usedNets[p.NetworkID] = true
		for k, f := range p.FixedIPs {
			fpath := path + "." + errdefs.Index("fixed_ips", k)
			j, ok := ix.subnets[f.SubnetID]
			if !ok {
				errs = append(errs, errdefs.NotFound(fpath+".subnet_id", "subnet %s is not in subnets", f.SubnetID))
				continue
			}
			usedSubnets[f.SubnetID] = true
			s := &d.Subnets[j]
			switch {
			case s.NetworkID != p.NetworkID:
				errs = append(errs, errdefs.Conflict(fpath+".subnet_id", "subnet %s is on network %s, not the port's %s", s.ID, s.NetworkID, p.NetworkID))
			case !s.CIDR.Contains(f.IPAddress):
				errs = append(errs, errdefs.Invalid(fpath+".ip_address", "%s is outside subnet %s (%s)", f.IPAddress, s.ID, s.CIDR))
			}
		}
	}
	for id := range usedNets {
		if i, ok := ix.networks[id]; ok {
			if err := d.Networks[i].Validate(); err != nil {
				errs = append(errs, errdefs.Prefix(errdefs.Index("networks", i), err))
			}
		}
	}
	for id := range usedSubnets {
		i := ix.subnets[id]
		if err := d.Subnets[i].Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(errdefs.Index("subnets", i), err))
		}
		if pool := d.Subnets[i].SubnetPoolID; pool != "" {
			if _, ok := ix.scopes.Pool(pool); !ok {
				errs = append(errs, errdefs.NotFound(errdefs.Index("subnets", i)+".subnetpool_id", "subnet pool %s is not in subnetpools", pool))
			}
		}
	}
	errs = append(errs, d.validateScopes())
	for i := range d.FloatingIPs {
		f := &d.FloatingIPs[i]
		if _, ok := ix.routers[f.RouterID]; !ok {
			continue
		}
		if err := f.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(errdefs.Index("floatingips", i), err))
		}
	}
	return ix, errors.Join(errs...)
}

// validateScopes checks the address scopes and the pools' references to
// them: a pool naming a scope that is missing would silently put its
// subnets behind NAT.
func (d *Desired) validateScopes() error {
	var errs []error
	for i := range d.AddressScopes {
		if err := d.AddressScopes[i].Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(errdefs.Index("address_scopes", i), err))
		}
	}
	for i := range d.SubnetPools {
		if d.SubnetPools[i].ID == "" {
			errs = append(errs, errdefs.Invalid(errdefs.Index("subnetpools", i)+".id", "an ID is required"))
		}
	}
	return errors.Join(append(errs, ipam.ValidateAddressScopes(d.AddressScopes, d.SubnetPools))...)
}
