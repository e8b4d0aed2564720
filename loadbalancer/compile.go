package loadbalancer

import (
	"cmp"
	"hash/fnv"
	"maps"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/loadbalancer/health"
	"github.com/neutrino-net/neutrino/loadbalancer/proxy"
)

// Names of what the realizer makes for a load balancer.
const (
	// NamespacePrefix is Neutron's: qlbaas-<load-balancer-id>.
	NamespacePrefix = "qlbaas-"
	// DevicePrefix names the VIP device in the namespace, as Neutron's
	// interface driver names the namespace end of a port: ns-<port11>.
	DevicePrefix = naming.PrefixDHCP
	// OwnerKind labels both ends of the VIP port's veth pair.
	OwnerKind = "lb-port"
	// Owner names the realizer in temporary device names.
	Owner = "loadbalancer"
)

// Namespace is the namespace name of a load balancer (before the node prefix).
func Namespace(lbID string) string { return NamespacePrefix + lbID }

// spec is what one load balancer's namespace must hold: decided from the
// document and the members' health, before any kernel object is read.
type spec struct {
	ID        string
	Namespace string
	PortID    string
	Tap       string // host end, in Bridge
	Dev       string // namespace end, holding the VIP
	Bridge    string
	MAC       net.HardwareAddr
	MTU       int
	VIP       netip.Prefix
	Gateway   netip.Addr
	L4        []l4Spec
	Proxy     []proxy.Listener
	Monitors  []health.Target
	Members   []*Member // every member of the load balancer, for the status
	monitored map[string]bool
	up        bool
}

// l4Spec is a listener balanced in the kernel: a DNAT through a map of
// slots (numgen for round robin, jhash of the source for SOURCE_IP), a
// member holding as many slots as its weight.
type l4Spec struct {
	ListenerID string
	Proto      uint8 // IPPROTO_TCP or IPPROTO_UDP
	Port       uint16
	Hash       bool   // SOURCE_IP
	Seed       uint32 // jhash seed, fixed per listener so a re-Apply keeps stickiness
	Slots      []netip.AddrPort
}

// HealthView says which monitored members are in rotation. A member absent
// from it (never checked yet) counts as in rotation: haproxy's start state.
type HealthView func(memberID string) (inRotation, known bool)

// compile decides every load balancer's spec. It reads no kernel state.
func compile(g *graph, hv HealthView) []*spec {
	out := make([]*spec, 0, len(g.lbs))
	for _, lg := range g.lbs {
		out = append(out, compileLB(lg, hv))
	}
	return out
}

func compileLB(lg *lbGraph, hv HealthView) *spec {
	vip := lg.vip
	var addr netip.Addr
	for _, f := range vip.FixedIPs {
		if f.SubnetID == lg.vipSubnet.ID && f.IPAddress.Is4() && (!lg.lb.VIPAddress.IsValid() || f.IPAddress == lg.lb.VIPAddress) {
			addr = f.IPAddress
			break
		}
	}
	s := &spec{
		ID:        lg.lb.ID,
		Namespace: Namespace(lg.lb.ID),
		PortID:    vip.ID,
		Tap:       naming.Tap(vip.ID),
		Dev:       naming.Device(DevicePrefix, vip.ID),
		Bridge:    naming.Bridge(vip.NetworkID),
		MAC:       vip.MACAddress.HardwareAddr(),
		VIP:       netip.PrefixFrom(addr, lg.vipSubnet.CIDR.Bits()),
		Gateway:   lg.vipSubnet.GatewayIP,
		monitored: map[string]bool{},
	}
	if lg.network != nil {
		s.MTU = lg.network.MTU
	}
	for _, id := range sortedKeys(lg.pools) {
		pg := lg.pools[id]
		s.Members = append(s.Members, pg.members...)
		if h := pg.monitor; h != nil && h.Up() && pg.pool.Up() {
			for _, m := range pg.members {
				if m.Up() {
					s.monitored[m.ID] = true
					s.Monitors = append(s.Monitors, target(m, h))
				}
			}
		}
	}
	s.up = lg.lb.Up()
	if !s.up {
		return s
	}
	listeners := slices.Clone(lg.listeners)
	slices.SortFunc(listeners, func(a, b *Listener) int { return cmp.Compare(a.ID, b.ID) })
	for _, l := range listeners {
		if !l.Up() {
			continue
		}
		pg := lg.pools[lg.defaults[l.ID]]
		if kernelBalanced(l, pg) {
			s.L4 = append(s.L4, l4(l, pg, s, hv))
			continue
		}
		s.Proxy = append(s.Proxy, proxyListener(l, lg, s, hv))
	}
	return s
}

// kernelBalanced reports whether a listener is realized in nftables: TCP
// or UDP without a connection limit, to a round-robin or source-hash pool
// (or none). The rest needs per-connection state: the proxy.
func kernelBalanced(l *Listener, pg *poolGraph) bool {
	if l.Protocol == ProtocolHTTP || l.Limit() >= 0 {
		return false
	}
	return pg == nil || pg.pool.LBAlgorithm != LeastConnections
}

func sticky(p *Pool) bool {
	return p.LBAlgorithm == SourceIP || (p.SessionPersistence != nil && p.SessionPersistence.Type == PersistSourceIP)
}

func l4(l *Listener, pg *poolGraph, s *spec, hv HealthView) l4Spec {
	out := l4Spec{ListenerID: l.ID, Proto: 6, Port: uint16(l.ProtocolPort)}
	if l.Protocol == ProtocolUDP {
		out.Proto = 17
	}
	if pg == nil {
		return out
	}
	out.Hash = sticky(pg.pool)
	h := fnv.New32a()
	_, _ = h.Write([]byte(l.ID))
	out.Seed = h.Sum32()
	out.Slots = Slots(active(pg, s, hv))
	return out
}

// Weighted is a member in rotation with its weight.
type Weighted struct {
	ID     string
	Addr   netip.AddrPort
	Weight int
}

// active returns the pool's members in rotation, sorted by ID: admin-up,
// weight above 0, healthy if monitored; the backup members only when no
// other member is in rotation.
func active(pg *poolGraph, s *spec, hv HealthView) []Weighted {
	if !pg.pool.Up() {
		return nil
	}
	var primary, backup []Weighted
	for _, m := range pg.members {
		if !m.Up() || m.EffectiveWeight() == 0 {
			continue
		}
		if s.monitored[m.ID] {
			if in, known := hv(m.ID); known && !in {
				continue
			}
		}
		w := Weighted{ID: m.ID, Addr: netip.AddrPortFrom(m.Address, uint16(m.ProtocolPort)), Weight: m.EffectiveWeight()}
		if m.Backup {
			backup = append(backup, w)
		} else {
			primary = append(primary, w)
		}
	}
	if len(primary) == 0 {
		primary = backup
	}
	slices.SortFunc(primary, func(a, b Weighted) int { return cmp.Compare(a.ID, b.ID) })
	return primary
}

// Slots spreads members over slots in proportion to their weights (see
// proxy.Spread): the kernel's round robin walks them in order.
func Slots(ms []Weighted) []netip.AddrPort {
	w := make([]int, len(ms))
	for i, m := range ms {
		w[i] = m.Weight
	}
	idx := proxy.Spread(w)
	out := make([]netip.AddrPort, len(idx))
	for k, i := range idx {
		out[k] = ms[i].Addr
	}
	return out
}

func ms(n int, def time.Duration) time.Duration {
	if n <= 0 {
		return def
	}
	return time.Duration(n) * time.Millisecond
}

func proxyListener(l *Listener, lg *lbGraph, s *spec, hv HealthView) proxy.Listener {
	pl := proxy.Listener{
		ID:             l.ID,
		HTTP:           l.Protocol == ProtocolHTTP,
		Addr:           netip.AddrPortFrom(s.VIP.Addr(), uint16(l.ProtocolPort)),
		Limit:          l.Limit(),
		DefaultPool:    lg.defaults[l.ID],
		Pools:          map[string]*proxy.Pool{},
		ForwardedFor:   l.InsertHeaders["X-Forwarded-For"] != "false",
		ForwardedProto: l.InsertHeaders["X-Forwarded-Proto"] != "false",
		ForwardedPort:  l.InsertHeaders["X-Forwarded-Port"] == "true",
		ConnectTimeout: ms(l.TimeoutMemberConnect, 5*time.Second),
		ClientTimeout:  ms(l.TimeoutClientData, 50*time.Second),
		MemberTimeout:  ms(l.TimeoutMemberData, 50*time.Second),
	}
	addPool := func(id string) {
		pg := lg.pools[id]
		if pg == nil || pl.Pools[id] != nil {
			return
		}
		p := &proxy.Pool{ID: id, Algorithm: pg.pool.LBAlgorithm, SourceIP: sticky(pg.pool)}
		if sp := pg.pool.SessionPersistence; sp != nil && sp.Type == PersistHTTPCookie {
			p.Cookie = cmp.Or(sp.CookieName, "SRV")
		}
		for _, m := range active(pg, s, hv) {
			p.Members = append(p.Members, proxy.Member{ID: m.ID, Addr: m.Addr, Weight: m.Weight})
		}
		pl.Pools[id] = p
	}
	addPool(lg.defaults[l.ID])
	pols := slices.Clone(lg.policies[l.ID])
	// Octavia orders by position (1 first); equal positions by ID, so the
	// order never depends on the document's.
	slices.SortStableFunc(pols, func(a, b *L7Policy) int {
		return cmp.Or(cmp.Compare(position(a), position(b)), cmp.Compare(a.ID, b.ID))
	})
	for _, p := range pols {
		if !p.Up() {
			continue
		}
		pp := proxy.Policy{ID: p.ID, Action: p.Action, Pool: p.RedirectPoolID, URL: p.RedirectURL, Prefix: p.RedirectPrefix, Code: p.RedirectHTTPCode}
		for _, r := range p.Rules {
			if r.Up() {
				pp.Rules = append(pp.Rules, proxy.Rule{Type: r.Type, Compare: r.CompareType, Key: r.Key, Value: r.Value, Invert: r.Invert})
			}
		}
		if p.Action == ActionRedirectToPool {
			addPool(p.RedirectPoolID)
		}
		pl.Policies = append(pl.Policies, pp)
	}
	return pl
}

func position(p *L7Policy) int {
	if p.Position == 0 {
		return 2147483647
	}
	return p.Position
}

func target(m *Member, h *HealthMonitor) health.Target {
	addr := cmp.Or(m.MonitorAddress, m.Address)
	port := cmp.Or(m.MonitorPort, m.ProtocolPort)
	codes, _ := ParseCodes(h.ExpectedCodes)
	return health.Target{
		Key:     m.ID,
		Addr:    netip.AddrPortFrom(addr, uint16(port)),
		Type:    h.Type,
		Delay:   time.Duration(h.Delay) * time.Second,
		Timeout: time.Duration(h.Timeout) * time.Second,
		Rise:    h.MaxRetries,
		Fall:    h.RetriesDown(),
		Method:  cmp.Or(h.HTTPMethod, "GET"),
		Path:    cmp.Or(h.URLPath, "/"),
		Codes:   codes,
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
