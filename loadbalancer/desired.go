package loadbalancer

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// Collections are Octavia's collections of the desired-state document,
// under their document names (neutrino.Topology embeds them).
type Collections struct {
	LoadBalancers  []LoadBalancer  `json:"loadbalancers,omitempty"`
	Listeners      []Listener      `json:"listeners,omitempty"`
	Pools          []Pool          `json:"pools,omitempty"`
	Members        []Member        `json:"members,omitempty"`
	HealthMonitors []HealthMonitor `json:"healthmonitors,omitempty"`
	L7Policies     []L7Policy      `json:"l7policies,omitempty"`
}

// Desired is what one node realizes: its load balancers with every object
// under them, and as context the VIP ports, their networks and every subnet
// of those networks (members are checked against them). The collections'
// JSON names are the document's, so error paths read as document paths
// when Desired holds the whole document's collections.
type Desired struct {
	Collections

	Networks []network.Network `json:"networks,omitempty"`
	Subnets  []subnet.Subnet   `json:"subnets,omitempty"`
	Ports    []port.Port       `json:"ports,omitempty"`
}

// Select returns the load balancers whose IDs are in ids, with every
// object under them, in document order.
func (c *Collections) Select(ids map[string]bool) Collections {
	var out Collections
	listeners, pools, policies := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, lb := range c.LoadBalancers {
		if ids[lb.ID] {
			out.LoadBalancers = append(out.LoadBalancers, lb)
		}
	}
	for _, l := range c.Listeners {
		if ids[l.LoadBalancerID] {
			listeners[l.ID] = true
			out.Listeners = append(out.Listeners, l)
		}
	}
	for _, p := range c.Pools {
		if ids[p.LoadBalancerID] || (p.LoadBalancerID == "" && listeners[p.ListenerID]) {
			pools[p.ID] = true
			out.Pools = append(out.Pools, p)
		}
	}
	for _, m := range c.Members {
		if pools[m.PoolID] {
			out.Members = append(out.Members, m)
		}
	}
	for _, h := range c.HealthMonitors {
		if pools[h.PoolID] {
			out.HealthMonitors = append(out.HealthMonitors, h)
		}
	}
	for _, p := range c.L7Policies {
		if listeners[p.ListenerID] && !policies[p.ID] {
			policies[p.ID] = true
			out.L7Policies = append(out.L7Policies, p)
		}
	}
	return out
}

// graph is a validated Desired, resolved: each load balancer with its VIP
// and its children.
type graph struct {
	lbs []*lbGraph
}

type lbGraph struct {
	lb        *LoadBalancer
	vip       *port.Port
	vipSubnet *subnet.Subnet
	network   *network.Network // nil when not in the document: default MTU
	listeners []*Listener
	// defaults maps a listener to its default pool: default_pool_id, or
	// the pool created with listener_id (which Octavia makes the
	// listener's default pool).
	defaults map[string]string
	pools    map[string]*poolGraph
	policies map[string][]*L7Policy // by listener ID
}

type poolGraph struct {
	pool    *Pool
	members []*Member
	monitor *HealthMonitor
}

// Validate checks every object and every reference, and returns all the
// problems joined, each naming the field's path ("members[2].address") and
// the object. Nothing is realized from an invalid Desired.
func (d *Desired) Validate() error {
	_, err := d.resolve()
	return err
}

// LoadBalancerOf returns the ID of the load balancer a pool belongs to:
// its loadbalancer_id, or its listener's.
func (d *Desired) loadBalancerOf(p *Pool, listeners map[string]*Listener) string {
	if p.LoadBalancerID != "" {
		return p.LoadBalancerID
	}
	if l := listeners[p.ListenerID]; l != nil {
		return l.LoadBalancerID
	}
	return ""
}

type checker struct{ errs []error }

// at records err (paths relative to the object) under coll[i], naming the
// object after the message.
func (c *checker) at(coll string, i int, kind, id string, err error) {
	if err == nil {
		return
	}
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		p := errdefs.Prefix(errdefs.Index(coll, i), e)
		var fe *errdefs.FieldError
		if errors.As(p, &fe) {
			fe.Msg += fmt.Sprintf(" (%s %s)", kind, id)
		}
		c.errs = append(c.errs, p)
	}
	walk(err)
}

func index[T any](c *checker, coll, kind string, xs []T, id func(*T) string) map[string]*T {
	m := make(map[string]*T, len(xs))
	for i := range xs {
		k := id(&xs[i])
		if k == "" {
			continue
		}
		if _, dup := m[k]; dup {
			c.at(coll, i, kind, k, errdefs.Conflict("id", "duplicate id"))
			continue
		}
		m[k] = &xs[i]
	}
	return m
}

func (d *Desired) resolve() (*graph, error) {
	c := &checker{}
	for i := range d.LoadBalancers {
		c.at("loadbalancers", i, "loadbalancer", d.LoadBalancers[i].ID, d.LoadBalancers[i].Validate())
	}
	for i := range d.Listeners {
		c.at("listeners", i, "listener", d.Listeners[i].ID, d.Listeners[i].Validate())
	}
	for i := range d.Pools {
		c.at("pools", i, "pool", d.Pools[i].ID, d.Pools[i].Validate())
	}
	for i := range d.Members {
		c.at("members", i, "member", d.Members[i].ID, d.Members[i].Validate())
	}
	for i := range d.HealthMonitors {
		c.at("healthmonitors", i, "healthmonitor", d.HealthMonitors[i].ID, d.HealthMonitors[i].Validate())
	}
	for i := range d.L7Policies {
		c.at("l7policies", i, "l7policy", d.L7Policies[i].ID, d.L7Policies[i].Validate())
	}
	lbs := index(c, "loadbalancers", "loadbalancer", d.LoadBalancers, func(x *LoadBalancer) string { return x.ID })
	listeners := index(c, "listeners", "listener", d.Listeners, func(x *Listener) string { return x.ID })
	pools := index(c, "pools", "pool", d.Pools, func(x *Pool) string { return x.ID })
	index(c, "members", "member", d.Members, func(x *Member) string { return x.ID })
	index(c, "healthmonitors", "healthmonitor", d.HealthMonitors, func(x *HealthMonitor) string { return x.ID })
	index(c, "l7policies", "l7policy", d.L7Policies, func(x *L7Policy) string { return x.ID })
	ports := map[string]*port.Port{}
	for i := range d.Ports {
		ports[d.Ports[i].ID] = &d.Ports[i]
	}
	subnets := map[string]*subnet.Subnet{}
	for i := range d.Subnets {
		subnets[d.Subnets[i].ID] = &d.Subnets[i]
	}
	networks := map[string]*network.Network{}
	for i := range d.Networks {
		networks[d.Networks[i].ID] = &d.Networks[i]
	}

	g := &graph{}
	byID := map[string]*lbGraph{}
	for i := range d.LoadBalancers {
		lb := &d.LoadBalancers[i]
		if lbs[lb.ID] != lb {
			continue
		}
		lg := &lbGraph{lb: lb, pools: map[string]*poolGraph{}, policies: map[string][]*L7Policy{}, defaults: map[string]string{}}
		if err := resolveVIP(lg, ports, subnets); err != nil {
			c.at("loadbalancers", i, "loadbalancer", lb.ID, err)
			continue
		}
		lg.network = networks[lg.vip.NetworkID]
		byID[lb.ID] = lg
		g.lbs = append(g.lbs, lg)
	}
	// known reports whether lbID exists, so that objects under a load
	// balancer whose VIP failed are not reported twice.
	known := func(lbID string) bool { return lbs[lbID] != nil }

	type portKey struct {
		lb    string
		proto string // "tcp" or "udp"
		port  int
	}
	used := map[portKey]string{}
	for i := range d.Listeners {
		l := &d.Listeners[i]
		if listeners[l.ID] != l {
			continue
		}
		if !known(l.LoadBalancerID) {
			c.at("listeners", i, "listener", l.ID, errdefs.NotFound("loadbalancer_id", "load balancer %s does not exist", l.LoadBalancerID))
			continue
		}
		k := portKey{l.LoadBalancerID, transport(l.Protocol), l.ProtocolPort}
		if other, clash := used[k]; clash {
			c.at("listeners", i, "listener", l.ID, errdefs.Conflict("protocol_port", "%s port %d is already taken by listener %s of load balancer %s", k.proto, l.ProtocolPort, other, l.LoadBalancerID))
			continue
		}
		used[k] = l.ID
		if lg := byID[l.LoadBalancerID]; lg != nil {
			lg.listeners = append(lg.listeners, l)
		}
	}
	for i := range d.Pools {
		p := &d.Pools[i]
		if pools[p.ID] != p {
			continue
		}
		if p.ListenerID != "" && listeners[p.ListenerID] == nil {
			c.at("pools", i, "pool", p.ID, errdefs.NotFound("listener_id", "listener %s does not exist", p.ListenerID))
			continue
		}
		lbID := d.loadBalancerOf(p, listeners)
		if !known(lbID) {
			c.at("pools", i, "pool", p.ID, errdefs.NotFound("loadbalancer_id", "load balancer %s does not exist", lbID))
			continue
		}
		if l := listeners[p.ListenerID]; l != nil && p.LoadBalancerID != "" && l.LoadBalancerID != p.LoadBalancerID {
			c.at("pools", i, "pool", p.ID, errdefs.Conflict("listener_id", "listener %s belongs to load balancer %s, not %s", l.ID, l.LoadBalancerID, p.LoadBalancerID))
			continue
		}
		if lg := byID[lbID]; lg != nil {
			lg.pools[p.ID] = &poolGraph{pool: p}
		}
	}
	poolLB := func(poolID string) string {
		if p := pools[poolID]; p != nil {
			return d.loadBalancerOf(p, listeners)
		}
		return ""
	}
	for i := range d.Listeners {
		l := &d.Listeners[i]
		if listeners[l.ID] != l || l.DefaultPoolID == "" || !known(l.LoadBalancerID) {
			continue
		}
		p := pools[l.DefaultPoolID]
		switch {
		case p == nil:
			c.at("listeners", i, "listener", l.ID, errdefs.NotFound("default_pool_id", "pool %s does not exist", l.DefaultPoolID))
		case poolLB(p.ID) != l.LoadBalancerID:
			c.at("listeners", i, "listener", l.ID, errdefs.Conflict("default_pool_id", "pool %s belongs to another load balancer", p.ID))
		case !poolFits(l.Protocol, p.Protocol):
			c.at("listeners", i, "listener", l.ID, errdefs.Invalid("default_pool_id", "a %s listener cannot use %s pool %s", l.Protocol, p.Protocol, p.ID))
		case p.LBAlgorithm == LeastConnections && l.Protocol == ProtocolUDP:
			c.at("listeners", i, "listener", l.ID, unsupported("default_pool_id", "UDP listeners cannot use LEAST_CONNECTIONS pool %s", p.ID))
		}
	}
	for i := range d.Listeners {
		l := &d.Listeners[i]
		if lg := byID[l.LoadBalancerID]; lg != nil && listeners[l.ID] == l && l.DefaultPoolID != "" && pools[l.DefaultPoolID] != nil {
			lg.defaults[l.ID] = l.DefaultPoolID
		}
	}
	for i := range d.Pools {
		p := &d.Pools[i]
		l := listeners[p.ListenerID]
		if pools[p.ID] != p || l == nil || l.DefaultPoolID == p.ID {
			continue
		}
		lg := byID[l.LoadBalancerID]
		if lg == nil {
			continue
		}
		if other := lg.defaults[l.ID]; other != "" {
			c.at("pools", i, "pool", p.ID, errdefs.Conflict("listener_id", "listener %s already has default pool %s", l.ID, other))
			continue
		}
		if !poolFits(l.Protocol, p.Protocol) {
			c.at("pools", i, "pool", p.ID, errdefs.Invalid("protocol", "a %s listener cannot use a %s pool", l.Protocol, p.Protocol))
			continue
		}
		lg.defaults[l.ID] = p.ID
	}
	for i := range d.Members {
		m := &d.Members[i]
		p := pools[m.PoolID]
		if p == nil {
			c.at("members", i, "member", m.ID, errdefs.NotFound("pool_id", "pool %s does not exist", m.PoolID))
			continue
		}
		lg := byID[poolLB(p.ID)]
		if lg == nil || lg.pools[p.ID] == nil || m.Validate() != nil {
			continue
		}
		if err := memberReachable(m, lg, d.Subnets, subnets); err != nil {
			c.at("members", i, "member", m.ID, err)
			continue
		}
		pg := lg.pools[p.ID]
		pg.members = append(pg.members, m)
	}
	for i := range d.HealthMonitors {
		h := &d.HealthMonitors[i]
		p := pools[h.PoolID]
		if p == nil {
			c.at("healthmonitors", i, "healthmonitor", h.ID, errdefs.NotFound("pool_id", "pool %s does not exist", h.PoolID))
			continue
		}
		lg := byID[poolLB(p.ID)]
		if lg == nil || lg.pools[p.ID] == nil {
			continue
		}
		pg := lg.pools[p.ID]
		if pg.monitor != nil {
			c.at("healthmonitors", i, "healthmonitor", h.ID, errdefs.Conflict("pool_id", "pool %s already has monitor %s", p.ID, pg.monitor.ID))
			continue
		}
		if p.Protocol == ProtocolUDP && h.Type == MonitorPing {
			c.at("healthmonitors", i, "healthmonitor", h.ID, errdefs.Invalid("type", "UDP pools allow UDP-CONNECT, SCTP, TCP and HTTP monitors"))
			continue
		}
		pg.monitor = h
	}
	for i := range d.L7Policies {
		pol := &d.L7Policies[i]
		l := listeners[pol.ListenerID]
		if l == nil {
			c.at("l7policies", i, "l7policy", pol.ID, errdefs.NotFound("listener_id", "listener %s does not exist", pol.ListenerID))
			continue
		}
		if l.Protocol != ProtocolHTTP {
			c.at("l7policies", i, "l7policy", pol.ID, errdefs.Invalid("listener_id", "listener %s is %s: L7 policies need an HTTP listener", l.ID, l.Protocol))
			continue
		}
		if pol.Action == ActionRedirectToPool {
			p := pools[pol.RedirectPoolID]
			switch {
			case p == nil:
				c.at("l7policies", i, "l7policy", pol.ID, errdefs.NotFound("redirect_pool_id", "pool %s does not exist", pol.RedirectPoolID))
				continue
			case poolLB(p.ID) != l.LoadBalancerID:
				c.at("l7policies", i, "l7policy", pol.ID, errdefs.Conflict("redirect_pool_id", "pool %s belongs to another load balancer", p.ID))
				continue
			case !poolFits(l.Protocol, p.Protocol):
				c.at("l7policies", i, "l7policy", pol.ID, errdefs.Invalid("redirect_pool_id", "an HTTP listener cannot use %s pool %s", p.Protocol, p.ID))
				continue
			}
		}
		if lg := byID[l.LoadBalancerID]; lg != nil {
			lg.policies[l.ID] = append(lg.policies[l.ID], pol)
		}
	}
	if len(c.errs) > 0 {
		return nil, errors.Join(c.errs...)
	}
	return g, nil
}

// transport is the L4 protocol a listener's port is taken on.
func transport(protocol string) string {
	if protocol == ProtocolUDP {
		return "udp"
	}
	return "tcp"
}

// poolFits is Octavia's VALID_LISTENER_POOL_PROTOCOL_MAP, restricted to the
// protocols realized.
func poolFits(listener, pool string) bool {
	switch listener {
	case ProtocolTCP:
		return pool == ProtocolTCP || pool == ProtocolHTTP
	case ProtocolHTTP:
		return pool == ProtocolHTTP
	case ProtocolUDP:
		return pool == ProtocolUDP
	}
	return false
}

// resolveVIP finds the VIP port, its address and subnet.
func resolveVIP(lg *lbGraph, ports map[string]*port.Port, subnets map[string]*subnet.Subnet) error {
	lb := lg.lb
	p := ports[lb.VIPPortID]
	if p == nil {
		return errdefs.NotFound("vip_port_id", "port %s does not exist", lb.VIPPortID)
	}
	if p.DeviceOwner != port.OwnerLoadBalancer && p.DeviceOwner != port.OwnerLoadBalancerV2 {
		return errdefs.Invalid("vip_port_id", "port %s has device_owner %q, not %q or %q", p.ID, p.DeviceOwner, port.OwnerLoadBalancer, port.OwnerLoadBalancerV2)
	}
	if lb.VIPNetworkID != "" && lb.VIPNetworkID != p.NetworkID {
		return errdefs.Conflict("vip_network_id", "port %s is on network %s", p.ID, p.NetworkID)
	}
	for i := range p.FixedIPs {
		f := &p.FixedIPs[i]
		if lb.VIPAddress.IsValid() && f.IPAddress != lb.VIPAddress {
			continue
		}
		if lb.VIPSubnetID != "" && f.SubnetID != lb.VIPSubnetID {
			continue
		}
		if !f.IPAddress.Is4() {
			continue
		}
		s := subnets[f.SubnetID]
		if s == nil {
			return errdefs.NotFound("vip_subnet_id", "subnet %s of VIP port %s does not exist", f.SubnetID, p.ID)
		}
		if !s.CIDR.Contains(f.IPAddress) {
			return errdefs.Invalid("vip_address", "%s is outside subnet %s (%s)", f.IPAddress, s.ID, s.CIDR)
		}
		lg.vip, lg.vipSubnet = p, s
		return nil
	}
	switch {
	case lb.VIPAddress.IsValid():
		return errdefs.Conflict("vip_address", "%s is not a fixed IP of port %s", lb.VIPAddress, p.ID)
	case lb.VIPSubnetID != "":
		return errdefs.Conflict("vip_subnet_id", "port %s has no IPv4 address on subnet %s", p.ID, lb.VIPSubnetID)
	}
	return errdefs.Invalid("vip_port_id", "port %s has no IPv4 fixed IP", p.ID)
}

// memberReachable checks that the member's address is on a subnet of the
// VIP's network: the load-balancer namespace has only the VIP port, so
// that is the only network it reaches members on.
func memberReachable(m *Member, lg *lbGraph, all []subnet.Subnet, byID map[string]*subnet.Subnet) error {
	netID := lg.vip.NetworkID
	if m.MonitorAddress.IsValid() && !onNetwork(m.MonitorAddress, netID, all) {
		return errdefs.Invalid("monitor_address", "%s is outside every subnet of the pool's network %s", m.MonitorAddress, netID)
	}
	if m.SubnetID != "" {
		s := byID[m.SubnetID]
		switch {
		case s == nil:
			return errdefs.NotFound("subnet_id", "subnet %s does not exist", m.SubnetID)
		case s.NetworkID != netID:
			return unsupported("subnet_id", "subnet %s is not on the VIP's network %s: members are reached through the VIP port only", s.ID, netID)
		case !s.CIDR.Contains(m.Address):
			return errdefs.Invalid("address", "%s is outside subnet %s (%s)", m.Address, s.ID, s.CIDR)
		}
		return nil
	}
	if onNetwork(m.Address, netID, all) {
		return nil
	}
	return errdefs.Invalid("address", "%s is outside every subnet of the pool's network %s", m.Address, netID)
}

func onNetwork(a netip.Addr, netID string, all []subnet.Subnet) bool {
	for i := range all {
		if all[i].NetworkID == netID && all[i].CIDR.Contains(a) {
			return true
		}
	}
	return false
}
