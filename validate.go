package neutrino

import (
	"errors"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/port"
)

// Validate checks every object of the document and every reference between
// them, and returns all problems joined (errors.Join of *errdefs.FieldError,
// one level deep): each names the field's path in the document and the
// object ("ports[3].fixed_ips[0].subnet_id: subnet s9 does not exist (port
// p3)") and wraps ErrInvalid (a bad value), ErrConflict (two objects
// collide), ErrNotFound (a reference to nothing) or ErrUnsupported (a
// Neutron field, value or collection Neutrino does not realize: it is
// refused rather than realized as something else; the README lists the
// supported subset).
//
// Beyond each object's own Validate, the document's rules are Neutron's:
// unique IDs; subnets on an existing network, not overlapping others of the
// network, inside their subnet pool; fixed IPs on a subnet of the port's
// network, inside it, used once; router ports owned by existing routers, one
// gateway port per router on its external gateway network, all of a router's
// ports on one host; floating IPs on external networks, inside one of their
// subnets, used once, translated by a router that has a gateway on that
// network and an interface on the port's subnet; existing security groups,
// remote groups and address groups (also of the rules listed on their own
// in security_group_rules, which must name an existing group and agree
// with any nested listing of themselves); BGP speakers' networks and peers;
// hosts' speakers. Plus what Neutrino's realizers need to be unambiguous:
// no two VXLAN networks with one VNI (or flat networks on one physical
// network), no two ports or networks whose device names (11 characters of
// the ID) collide, a tunnel_ip for every host of a VXLAN network that spans
// hosts, and an MTU of at least 1280 on networks with IPv6 subnets.
//
// Validate applies no defaults: a document that relies on Neutron's
// defaults (a missing gateway_ip, ip_version, network type) fails until
// Defaults is applied.
func (t *Topology) Validate() error {
	v := &validator{t: t, x: t.Index()}
	v.objects()
	v.uniqueIDs()
	v.networks()
	v.subnets()
	v.ports()
	v.routers()
	v.floatingIPs()
	v.securityGroups()
	v.bgp()
	v.hosts()
	v.unrealized()
	v.firewall()
	v.loadBalancers()
	v.qosPolicies()
	v.trunks()
	v.vpn()
	return errors.Join(v.errs...)
}

type validator struct {
	t       *Topology
	x       *Index
	errs    []error
	portPos map[*port.Port]int // built on first use by portObj
}

// obj names one object of the document: where it is and what it is.
type obj struct {
	coll string // JSON collection name: "subnets"
	i    int
	kind string // "subnet"
	id   string
}

func (o obj) path() string { return errdefs.Index(o.coll, o.i) }

// report records err, whose paths are relative to o, with o's path in front
// of every FieldError and o's kind and ID after its message, flattening
// errors.Join trees so that callers can walk the result one level deep.
func (v *validator) report(o obj, err error) {
	if err == nil {
		return
	}
	what := " (" + o.kind + ")"
	if o.id != "" {
		what = " (" + o.kind + " " + o.id + ")"
	}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, c := range j.Unwrap() {
				walk(c)
			}
			return
		}
		if fe, ok := errdefs.Prefix(o.path(), e).(*errdefs.FieldError); ok {
			fe.Msg += what
			v.errs = append(v.errs, fe)
			return
		}
		v.errs = append(v.errs, errdefs.Prefix(o.path(), e))
	}
	walk(err)
}

// reportDoc records errors whose paths are already document paths.
func (v *validator) reportDoc(err error) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		v.errs = append(v.errs, j.Unwrap()...)
	} else if err != nil {
		v.errs = append(v.errs, err)
	}
}

// objects runs each object's own Validate.
func (v *validator) objects() {
	t := v.t
	for i := range t.Networks {
		v.report(obj{"networks", i, "network", t.Networks[i].ID}, t.Networks[i].Validate())
	}
	for i := range t.Subnets {
		v.report(obj{"subnets", i, "subnet", t.Subnets[i].ID}, t.Subnets[i].Validate())
	}
	for i := range t.Ports {
		v.report(obj{"ports", i, "port", t.Ports[i].ID}, t.Ports[i].Validate())
	}
	for i := range t.Routers {
		v.report(obj{"routers", i, "router", t.Routers[i].ID}, t.Routers[i].Validate())
	}
	for i := range t.FloatingIPs {
		v.report(obj{"floatingips", i, "floating IP", t.FloatingIPs[i].ID}, t.FloatingIPs[i].Validate())
	}
	for i := range t.SecurityGroups {
		v.report(obj{"security_groups", i, "security group", t.SecurityGroups[i].ID}, t.SecurityGroups[i].Validate())
	}
	for i := range t.AddressScopes {
		v.report(obj{"address_scopes", i, "address scope", t.AddressScopes[i].ID}, t.AddressScopes[i].Validate())
	}
	for i := range t.AddressGroups {
		v.report(obj{"address_groups", i, "address group", t.AddressGroups[i].ID}, t.AddressGroups[i].Validate())
	}
	for i := range t.SubnetPools {
		v.report(obj{"subnetpools", i, "subnet pool", t.SubnetPools[i].ID}, t.SubnetPools[i].Validate())
	}
	for i := range t.BGPSpeakers {
		v.report(obj{"bgp_speakers", i, "BGP speaker", t.BGPSpeakers[i].ID}, t.BGPSpeakers[i].Validate())
	}
	for i := range t.BGPPeers {
		v.report(obj{"bgp_peers", i, "BGP peer", t.BGPPeers[i].ID}, t.BGPPeers[i].Validate())
	}
	for i := range t.Hosts {
		v.report(obj{"hosts", i, "host", t.Hosts[i].Name}, t.Hosts[i].Validate())
	}
	v.reportDoc(ipam.ValidateAddressScopes(t.AddressScopes, t.SubnetPools))
}

// uniqueIDs reports every object whose ID an earlier object of its
// collection has.
func (v *validator) uniqueIDs() {
	t := v.t
	unique(v, "networks", "network", "id", t.Networks, func(i int) string { return t.Networks[i].ID })
	unique(v, "subnets", "subnet", "id", t.Subnets, func(i int) string { return t.Subnets[i].ID })
	unique(v, "ports", "port", "id", t.Ports, func(i int) string { return t.Ports[i].ID })
	unique(v, "routers", "router", "id", t.Routers, func(i int) string { return t.Routers[i].ID })
	unique(v, "floatingips", "floating IP", "id", t.FloatingIPs, func(i int) string { return t.FloatingIPs[i].ID })
	unique(v, "security_groups", "security group", "id", t.SecurityGroups, func(i int) string { return t.SecurityGroups[i].ID })
	unique(v, "address_scopes", "address scope", "id", t.AddressScopes, func(i int) string { return t.AddressScopes[i].ID })
	unique(v, "address_groups", "address group", "id", t.AddressGroups, func(i int) string { return t.AddressGroups[i].ID })
	unique(v, "subnetpools", "subnet pool", "id", t.SubnetPools, func(i int) string { return t.SubnetPools[i].ID })
	unique(v, "bgp_speakers", "BGP speaker", "id", t.BGPSpeakers, func(i int) string { return t.BGPSpeakers[i].ID })
	unique(v, "bgp_peers", "BGP peer", "id", t.BGPPeers, func(i int) string { return t.BGPPeers[i].ID })
	unique(v, "hosts", "host", "name", t.Hosts, func(i int) string { return t.Hosts[i].Name })
}

func unique[T any](v *validator, coll, kind, field string, objs []T, key func(int) string) {
	first := make(map[string]int, len(objs))
	for i := range objs {
		k := key(i)
		if k == "" {
			continue // the object's own Validate reports it
		}
		if j, dup := first[k]; dup {
			v.report(obj{coll, i, kind, k}, errdefs.Conflict(field, "%s is also the %s of %s[%d]", k, field, coll, j))
			continue
		}
		first[k] = i
	}
}
