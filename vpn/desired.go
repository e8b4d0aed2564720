package vpn

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/subnet"
)

// Desired is the VPN state of one node. Its JSON names are the Topology's
// collection names, so validation paths read the same in both.
type Desired struct {
	IKEPolicies          []IKEPolicy      `json:"ikepolicies,omitempty"`
	IPsecPolicies        []IPsecPolicy    `json:"ipsecpolicies,omitempty"`
	VPNServices          []Service        `json:"vpnservices,omitempty"`
	EndpointGroups       []EndpointGroup  `json:"endpoint_groups,omitempty"`
	IPsecSiteConnections []SiteConnection `json:"ipsec_site_connections,omitempty"`
	// Routers, Ports and Subnets hold (at least) the services' routers,
	// their interface and gateway ports and those ports' subnets: the
	// router's external IP is the local end of its tunnels, its interface
	// subnets the local traffic selectors.
	Routers []router.Router `json:"routers,omitempty"`
	Ports   []port.Port     `json:"ports,omitempty"`
	Subnets []subnet.Subnet `json:"subnets,omitempty"`
}

// routerVPN is what one router namespace runs: its charon's connections.
type routerVPN struct {
	RouterID string
	Conns    []*connSpec // sorted by ID
}

// connSpec is one site connection as charon should hold it.
type connSpec struct {
	ID          string
	Version     string // "1" or "2"
	Aggressive  bool
	LocalAddr   netip.Addr
	RemoteAddr  string // IP or FQDN
	LocalID     string
	RemoteID    string
	LocalTS     []netip.Prefix
	RemoteTS    []netip.Prefix
	IKEProposal string
	ESPProposal string
	IKERekey    int
	ChildRekey  int
	DPDAction   string // vici: clear, trap, restart, none
	DPDDelay    int
	DPDTimeout  int
	Initiate    bool
	PSK         Secret
}

// index holds a Desired's objects by ID.
type index struct {
	ike      map[string]*IKEPolicy
	ipsec    map[string]*IPsecPolicy
	services map[string]*Service
	groups   map[string]*EndpointGroup
	routers  map[string]*router.Router
	subnets  map[string]*subnet.Subnet
	gateway  map[string]*port.Port   // router ID -> gateway port
	ifaces   map[string][]*port.Port // router ID -> interface ports
}

// Validate checks every object and the references between them, naming each
// problem's document path: unique IDs; services on existing routers that
// have a gateway with an IPv4 address, their subnet (if any) on an
// interface of the router; connections on existing services and policies,
// with peer_cidrs when their service names a subnet and a local subnet
// endpoint group with a peer cidr endpoint group when it does not, local
// subnets on the router, peer CIDRs that overlap no local subnet.
// Algorithms, AH, transport mode, endpoint group types other than subnet
// and cidr, and a connection MTU other than 1500 are refused with
// ErrUnsupported.
func (d *Desired) Validate() error {
	_, err := d.compile()
	return err
}

func dupCheck[T any](errs *[]error, coll, kind string, objs []T, id func(*T) string, put func(*T)) {
	seen := map[string]bool{}
	for i := range objs {
		o := &objs[i]
		if seen[id(o)] && id(o) != "" {
			*errs = append(*errs, errdefs.Conflict(errdefs.Index(coll, i)+".id", "%s repeats an earlier %s", id(o), kind))
			continue
		}
		seen[id(o)] = true
		put(o)
	}
}

func (d *Desired) index() (*index, []error) {
	x := &index{ike: map[string]*IKEPolicy{}, ipsec: map[string]*IPsecPolicy{}, services: map[string]*Service{},
		groups: map[string]*EndpointGroup{}, routers: map[string]*router.Router{}, subnets: map[string]*subnet.Subnet{},
		gateway: map[string]*port.Port{}, ifaces: map[string][]*port.Port{}}
	var errs []error
	for i := range d.IKEPolicies {
		errs = appendPrefixed(errs, errdefs.Index("ikepolicies", i), d.IKEPolicies[i].Validate())
	}
	for i := range d.IPsecPolicies {
		errs = appendPrefixed(errs, errdefs.Index("ipsecpolicies", i), d.IPsecPolicies[i].Validate())
	}
	for i := range d.EndpointGroups {
		errs = appendPrefixed(errs, errdefs.Index("endpoint_groups", i), d.EndpointGroups[i].Validate())
	}
	dupCheck(&errs, "ikepolicies", "ikepolicy", d.IKEPolicies, func(p *IKEPolicy) string { return p.ID }, func(p *IKEPolicy) { x.ike[p.ID] = p })
	dupCheck(&errs, "ipsecpolicies", "ipsecpolicy", d.IPsecPolicies, func(p *IPsecPolicy) string { return p.ID }, func(p *IPsecPolicy) { x.ipsec[p.ID] = p })
	dupCheck(&errs, "vpnservices", "vpnservice", d.VPNServices, func(s *Service) string { return s.ID }, func(s *Service) { x.services[s.ID] = s })
	dupCheck(&errs, "endpoint_groups", "endpoint group", d.EndpointGroups, func(g *EndpointGroup) string { return g.ID }, func(g *EndpointGroup) { x.groups[g.ID] = g })
	for i := range d.Routers {
		x.routers[d.Routers[i].ID] = &d.Routers[i]
	}
	for i := range d.Subnets {
		x.subnets[d.Subnets[i].ID] = &d.Subnets[i]
	}
	for i := range d.Ports {
		p := &d.Ports[i]
		switch p.DeviceOwner {
		case port.OwnerRouterGateway:
			x.gateway[p.DeviceID] = p
		case port.OwnerRouterInterface:
			x.ifaces[p.DeviceID] = append(x.ifaces[p.DeviceID], p)
		}
	}
	return x, errs
}

func appendPrefixed(errs []error, path string, err error) []error {
	if err == nil {
		return errs
	}
	if j, ok := errdefs.Prefix(path, err).(interface{ Unwrap() []error }); ok {
		return append(errs, j.Unwrap()...)
	}
	return append(errs, errdefs.Prefix(path, err))
}

// Validate checks the group's type and endpoints. Types network, router
// and vlan are refused (ErrUnsupported).
func (g *EndpointGroup) Validate() error {
	var errs []error
	if g.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "an ID is required"))
	}
	switch g.Type {
	case EndpointSubnet:
	case EndpointCIDR:
		for i, e := range g.Endpoints {
			if _, err := netip.ParsePrefix(e); err != nil {
				errs = append(errs, errdefs.Invalid(errdefs.Index("endpoints", i), "%q is not a CIDR", e))
			}
		}
	case "network", "router", "vlan":
		errs = append(errs, errdefs.Unsupported("type", "%s endpoint groups are not realized by Neutrino (only subnet and cidr, the types site connections use)", g.Type))
	default:
		errs = append(errs, errdefs.Invalid("type", "%q is not an endpoint group type (subnet, cidr)", g.Type))
	}
	if len(g.Endpoints) == 0 {
		errs = append(errs, errdefs.Invalid("endpoints", "an endpoint group needs at least one endpoint"))
	}
	return joinErrs(errs)
}

// externalIP is the router's tunnel address: the first IPv4 fixed IP of its
// gateway port, as Neutron's external_v4_ip.
func (x *index) externalIP(routerID string) netip.Addr {
	if gw := x.gateway[routerID]; gw != nil {
		for _, f := range gw.FixedIPs {
			if f.IPAddress.Is4() {
				return f.IPAddress
			}
		}
	}
	return netip.Addr{}
}

// onRouter reports whether subnet id is on an interface of the router.
func (x *index) onRouter(routerID, id string) bool {
	for _, p := range x.ifaces[routerID] {
		for _, f := range p.FixedIPs {
			if f.SubnetID == id {
				return true
			}
		}
	}
	return false
}

// compile validates d and returns the connections of each router with a
// service that is up, sorted by router ID.
func (d *Desired) compile() ([]*routerVPN, error) {
	x, errs := d.index()
	for i := range d.VPNServices {
		errs = append(errs, x.checkService(errdefs.Index("vpnservices", i), &d.VPNServices[i])...)
	}
	byRouter := map[string]*routerVPN{}
	for i := range d.IPsecSiteConnections {
		c := &d.IPsecSiteConnections[i]
		path := errdefs.Index("ipsec_site_connections", i)
		spec, cerrs := x.connection(path, c)
		errs = append(errs, cerrs...)
		if spec == nil {
			continue
		}
		s := x.services[c.VPNServiceID]
		rv := byRouter[s.RouterID]
		if rv == nil {
			rv = &routerVPN{RouterID: s.RouterID}
			byRouter[s.RouterID] = rv
		}
		rv.Conns = append(rv.Conns, spec)
	}
	seen := map[string]bool{}
	for i := range d.IPsecSiteConnections {
		c := &d.IPsecSiteConnections[i]
		if seen[c.ID] && c.ID != "" {
			errs = append(errs, errdefs.Conflict(errdefs.Index("ipsec_site_connections", i)+".id", "%s repeats an earlier ipsec site connection", c.ID))
		}
		seen[c.ID] = true
	}
	if len(errs) > 0 {
		return nil, joinErrs(errs)
	}
	out := make([]*routerVPN, 0, len(byRouter))
	for _, rv := range byRouter {
		slices.SortFunc(rv.Conns, func(a, b *connSpec) int { return cmpString(a.ID, b.ID) })
		out = append(out, rv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RouterID < out[j].RouterID })
	return out, nil
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

func (x *index) checkService(path string, s *Service) []error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errdefs.Invalid(path+".id", "an ID is required"))
	}
	if x.routers[s.RouterID] == nil {
		return append(errs, errdefs.NotFound(path+".router_id", "router %q does not exist (vpnservice %s)", s.RouterID, s.ID))
	}
	if !x.externalIP(s.RouterID).IsValid() {
		errs = append(errs, errdefs.Invalid(path+".router_id", "router %s has no gateway with an IPv4 address to run IPsec from (vpnservice %s)", s.RouterID, s.ID))
	}
	if s.SubnetID != "" && !x.onRouter(s.RouterID, s.SubnetID) {
		errs = append(errs, errdefs.NotFound(path+".subnet_id", "subnet %s is not on an interface of router %s (vpnservice %s)", s.SubnetID, s.RouterID, s.ID))
	}
	return errs
}

// connection checks c and compiles it; the spec is nil when c is invalid
// or not realized (it or its service is down).
func (x *index) connection(path string, c *SiteConnection) (*connSpec, []error) {
	var errs []error
	bad := func(err error) { errs = append(errs, err) }
	what := fmt.Sprintf(" (ipsec site connection %s)", c.ID)
	if c.ID == "" {
		bad(errdefs.Invalid(path+".id", "an ID is required"))
	}
	s := x.services[c.VPNServiceID]
	if s == nil {
		bad(errdefs.NotFound(path+".vpnservice_id", "vpnservice %q does not exist%s", c.VPNServiceID, what))
	}
	ike, ipsec := x.ike[c.IKEPolicyID], x.ipsec[c.IPsecPolicyID]
	if ike == nil {
		bad(errdefs.NotFound(path+".ikepolicy_id", "ikepolicy %q does not exist%s", c.IKEPolicyID, what))
	}
	if ipsec == nil {
		bad(errdefs.NotFound(path+".ipsecpolicy_id", "ipsecpolicy %q does not exist%s", c.IPsecPolicyID, what))
	}
	remote := c.PeerAddress
	if a, err := netip.ParseAddr(c.PeerAddress); err == nil {
		if !a.Is4() {
			bad(errdefs.Unsupported(path+".peer_address", "%s: IPv6 tunnel endpoints are not realized by Neutrino (the router's tunnel address is its external IPv4 address)%s", a, what))
		}
		remote = a.String()
	} else if !validHost(c.PeerAddress) {
		bad(errdefs.Invalid(path+".peer_address", "%q is neither an IP address nor an FQDN%s", c.PeerAddress, what))
	}
	if c.PeerID == "" {
		bad(errdefs.Invalid(path+".peer_id", "a peer ID is required%s", what))
	}
	if c.PSK == "" {
		bad(errdefs.Invalid(path+".psk", "a pre-shared key is required%s", what))
	}
	if c.MTU != 0 && c.MTU < 68 {
		bad(errdefs.Invalid(path+".mtu", "%d is below the IPv4 minimum of 68%s", c.MTU, what))
	} else if c.MTU != 0 && c.MTU != DefaultMTU {
		bad(errdefs.Unsupported(path+".mtu", "%d is not realized by Neutrino: strongSwan sets no per-connection MTU (nor does Neutron's strongSwan driver); only %d is accepted%s", c.MTU, DefaultMTU, what))
	}
	switch c.initiator() {
	case BiDirectional, ResponseOnly:
	default:
		bad(errdefs.Invalid(path+".initiator", "%q is not bi-directional or response-only%s", c.Initiator, what))
	}
	if c.AuthMode != "" && c.AuthMode != "psk" {
		bad(errdefs.Unsupported(path+".auth_mode", "%q is not realized by Neutrino: only psk%s", c.AuthMode, what))
	}
	if c.RouteMode != "" && c.RouteMode != "static" {
		bad(errdefs.Unsupported(path+".route_mode", "%q is not realized by Neutrino: only static%s", c.RouteMode, what))
	}
	dpd := c.DPD.withDefaults()
	dpdAction := map[string]string{"hold": "trap", "clear": "clear", "restart": "restart", "disabled": "none"}[dpd.Action]
	switch {
	case dpd.Action == "restart-by-peer":
		bad(errdefs.Unsupported(path+".dpd.action", "restart-by-peer is not realized by Neutrino: strongSwan has no such action%s", what))
	case dpdAction == "":
		bad(errdefs.Invalid(path+".dpd.action", "%q is not a DPD action (clear, disabled, hold, restart, restart-by-peer)%s", dpd.Action, what))
	}
	if dpd.Interval <= 0 {
		bad(errdefs.Invalid(path+".dpd.interval", "%d is not a positive number of seconds%s", dpd.Interval, what))
	}
	if dpd.Timeout <= dpd.Interval {
		bad(errdefs.Invalid(path+".dpd.timeout", "%d must exceed the interval (%d)%s", dpd.Timeout, dpd.Interval, what))
	}
	var local, peer []netip.Prefix
	if s != nil {
		local, peer, errs = x.selectors(path, c, s, what, errs)
	}
	if len(errs) > 0 || !c.Up() || !s.Up() {
		return nil, errs
	}
	ikeProp, _ := ike.proposal()
	espProp, _ := ipsec.proposal()
	ext := x.externalIP(s.RouterID)
	localID := c.LocalID
	if localID == "" {
		localID = ext.String()
	}
	spec := &connSpec{ID: c.ID, Version: ike.version(), Aggressive: ike.Phase1NegotiationMode == "aggressive",
		LocalAddr: ext, RemoteAddr: remote, LocalID: localID, RemoteID: c.PeerID, LocalTS: local, RemoteTS: peer,
		IKEProposal: ikeProp, ESPProposal: espProp, IKERekey: ike.Lifetime.Seconds(), ChildRekey: ipsec.Lifetime.Seconds(),
		DPDAction: dpdAction, DPDDelay: dpd.Interval, DPDTimeout: dpd.Timeout, Initiate: c.initiator() == BiDirectional, PSK: c.PSK}
	if dpd.Action == "disabled" {
		spec.DPDDelay, spec.DPDTimeout = 0, 0
	}
	return spec, nil
}

// selectors resolves the connection's local and peer CIDRs from the
// service's subnet and peer_cidrs, or from its endpoint groups.
func (x *index) selectors(path string, c *SiteConnection, s *Service, what string, errs []error) (local, peer []netip.Prefix, _ []error) {
	bad := func(err error) { errs = append(errs, err) }
	groups := c.LocalEPGroupID != "" || c.PeerEPGroupID != ""
	switch {
	case s.SubnetID != "" && groups:
		bad(errdefs.Invalid(path+".local_ep_group_id", "vpnservice %s names a subnet: use peer_cidrs, not endpoint groups%s", s.ID, what))
	case s.SubnetID != "":
		if len(c.PeerCIDRs) == 0 {
			bad(errdefs.Invalid(path+".peer_cidrs", "vpnservice %s names a subnet: peer_cidrs are required%s", s.ID, what))
		}
		if sn := x.subnets[s.SubnetID]; sn != nil {
			local = []netip.Prefix{sn.CIDR.Masked()}
		}
		for _, p := range c.PeerCIDRs {
			peer = append(peer, p.Masked())
		}
	case len(c.PeerCIDRs) > 0:
		bad(errdefs.Invalid(path+".peer_cidrs", "vpnservice %s names no subnet: use local_ep_group_id and peer_ep_group_id%s", s.ID, what))
	default:
		local = x.groupCIDRs(path+".local_ep_group_id", c.LocalEPGroupID, EndpointSubnet, s.RouterID, what, &errs)
		peer = x.groupCIDRs(path+".peer_ep_group_id", c.PeerEPGroupID, EndpointCIDR, s.RouterID, what, &errs)
	}
	for i, p := range peer {
		if !p.Addr().Is4() {
			bad(errdefs.Unsupported(fmt.Sprintf("%s.peer_cidrs[%d]", path, i), "%s: IPv6 traffic selectors are not realized by Neutrino%s", p, what))
		}
		for _, l := range local {
			if l.Overlaps(p) {
				bad(errdefs.Conflict(fmt.Sprintf("%s.peer_cidrs[%d]", path, i), "%s overlaps the local subnet %s%s", p, l, what))
			}
		}
	}
	return local, peer, errs
}

// groupCIDRs resolves an endpoint group of the given type to CIDRs.
func (x *index) groupCIDRs(field, id, typ, routerID, what string, errs *[]error) []netip.Prefix {
	if id == "" {
		*errs = append(*errs, errdefs.Invalid(field, "an endpoint group of type %s is required%s", typ, what))
		return nil
	}
	g := x.groups[id]
	if g == nil {
		*errs = append(*errs, errdefs.NotFound(field, "endpoint group %q does not exist%s", id, what))
		return nil
	}
	if g.Type != typ {
		*errs = append(*errs, errdefs.Invalid(field, "endpoint group %s is of type %s, not %s%s", id, g.Type, typ, what))
		return nil
	}
	var out []netip.Prefix
	for _, e := range g.Endpoints {
		if typ == EndpointCIDR {
			if p, err := netip.ParsePrefix(e); err == nil {
				out = append(out, p.Masked())
			}
			continue
		}
		sn := x.subnets[e]
		if sn == nil || !x.onRouter(routerID, e) {
			*errs = append(*errs, errdefs.NotFound(field, "subnet %s of endpoint group %s is not on an interface of router %s%s", e, id, routerID, what))
			continue
		}
		if !sn.CIDR.Addr().Is4() {
			*errs = append(*errs, errdefs.Unsupported(field, "subnet %s of endpoint group %s is IPv6: IPv6 traffic selectors are not realized by Neutrino%s", e, id, what))
			continue
		}
		out = append(out, sn.CIDR.Masked())
	}
	return out
}

// NoSNAT returns, per router, the peer CIDRs of its connections that are
// up: the router's NAT must leave traffic to them untranslated, as
// Neutron's driver does with its "-d <peer cidr> -j ACCEPT" before SNAT.
// An invalid Desired gives nil.
func (d *Desired) NoSNAT() map[string][]netip.Prefix {
	rvs, err := d.compile()
	if err != nil {
		return nil
	}
	out := map[string][]netip.Prefix{}
	for _, rv := range rvs {
		for _, c := range rv.Conns {
			for _, p := range c.RemoteTS {
				if !slices.Contains(out[rv.RouterID], p) {
					out[rv.RouterID] = append(out[rv.RouterID], p)
				}
			}
		}
	}
	return out
}
