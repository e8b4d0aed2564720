package firewall

import (
	"net/netip"
	"sort"

	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/port"
)

// Directions, as Neutron defines them: seen from the port's network.
const (
	DirIngress = "ingress" // into the network through the port: out of the router (oifname), from the instance
	DirEgress  = "egress"  // out of the network through the port: into the router (iifname), to the instance
)

// tuple is what a Neutron rule matches, for cutting the conntrack entries
// of flows it allowed.
type tuple struct {
	version  int
	proto    uint8
	src, dst netip.Prefix
	sport    *PortRange
	dport    *PortRange
	allow    bool
}

// logSource is what an NFLOG prefix stands for.
type logSource struct {
	LogIDs    []string
	PortID    string
	GroupID   string
	RuleID    string // a firewall rule ID, or "default" / "invalid" / "admin_state_down"
	Direction string
	Verdict   string // ACCEPT or DROP
}

// compile turns a valid Desired into the tables of the node's routers.
func compile(d *Desired, x *index, cfg *config) *ruleset {
	rs := &ruleset{tables: map[string]*table{}}
	// groups per table, in document order, and ports per (table, group).
	type key struct{ router, group string }
	portsOf := map[key][]*port.Port{}
	var order []key
	for gi := range d.FirewallGroups {
		g := &d.FirewallGroups[gi]
		for _, id := range g.Ports {
			p := x.ports[id]
			tk := tableKey(p)
			t := rs.tables[tk]
			if t == nil {
				t = &table{router: tk, prefixes: map[string]*logSource{}, ports: map[string]*portInfo{}}
				rs.tables[tk] = t
			}
			dev := deviceOf(p)
			t.ports[dev] = &portInfo{id: p.ID, dev: dev, group: g.ID}
			k := key{tk, g.ID}
			if portsOf[k] == nil {
				order = append(order, k)
			}
			portsOf[k] = append(portsOf[k], p)
		}
	}
	for _, t := range rs.tables {
		t.chains = append(t.chains, &chain{name: chainForward, base: true})
	}
	for _, k := range order {
		t := rs.tables[k.router]
		g := x.groups[k.group]
		c := &compiler{cfg: cfg, d: d, x: x, t: t, g: g, ports: portsOf[k]}
		c.group()
	}
	for _, t := range rs.tables {
		sort.Slice(t.limits, func(i, j int) bool { return t.limits[i].name < t.limits[j].name })
	}
	return rs
}

// HostTable is the key of the host namespace's table among the tables of
// a ruleset, which are otherwise keyed by router ID.
const hostTable = ""

// tableKey is where a protected port is filtered: its router's namespace,
// or the host namespace for an instance port.
func tableKey(p *port.Port) string {
	if p.IsInstance() {
		return hostTable
	}
	return p.DeviceID
}

// deviceOf is the device of a port: qr-/qg- in its router's namespace,
// tap in the host namespace for an instance port.
func deviceOf(p *port.Port) string {
	switch {
	case p.IsInstance():
		return naming.Tap(p.ID)
	case p.DeviceOwner == port.OwnerRouterGateway:
		return naming.RouterGateway(p.ID)
	}
	return naming.RouterInterface(p.ID)
}

// portMatches returns the alternatives of matches that select a port's
// packets in direction dir. Directions are as seen from the port's
// network: ingress is what enters the network through the port (from the
// router, from the instance), egress what leaves the network through it
// (Neutron's iptables driver filters ingress with -o on a router port, and
// its OVS driver applies a group's egress rules to traffic towards the
// instance). A router port is its device. An instance port's packets are
// bridged, and in inet hooks a bridged packet shows the bridge as iifname
// and oifname (ARCHITECTURE.md §6), so an instance port is its network's
// bridge and one of its addresses (fixed IPs and allowed address pairs):
// the source on ingress, the destination on egress. The bridge keeps
// overlapping tenant addresses apart; secgroup's anti-spoofing keeps other
// ports from using the port's addresses.
func portMatches(dir string, p *port.Port) [][]term {
	if !p.IsInstance() {
		return [][]term{{devMatch(dir, deviceOf(p))}}
	}
	br, kind := term{kind: tIIF, name: naming.Bridge(p.NetworkID)}, tSaddr
	if dir == DirEgress {
		br, kind = term{kind: tOIF, name: br.name}, tDaddr
	}
	var out [][]term
	for _, a := range portAddrs(p) {
		out = append(out, []term{br, {kind: tNFProto, num: uint32(addrVersion(a.Addr()))}, {kind: kind, prefix: a}})
	}
	return out
}

// portAddrs are an instance port's fixed IPs and allowed address pairs.
func portAddrs(p *port.Port) []netip.Prefix {
	var out []netip.Prefix
	for _, ip := range p.FixedIPs {
		out = append(out, netip.PrefixFrom(ip.IPAddress, ip.IPAddress.BitLen()))
	}
	for _, ap := range p.AllowedAddressPairs {
		out = append(out, ap.IPAddress.Masked())
	}
	return out
}

// addrTuple is a tuple matching the flows of an instance port's address
// in direction dir, for cutting them when the port becomes protected.
func addrTuple(dir string, m []term) *tuple {
	for _, t := range m {
		if t.kind == tSaddr || t.kind == tDaddr {
			tp := &tuple{version: addrVersion(t.prefix.Addr())}
			if t.kind == tSaddr {
				tp.src = t.prefix
			} else {
				tp.dst = t.prefix
			}
			return tp
		}
	}
	return nil
}

// compiler builds one group's part of one router's table.
type compiler struct {
	cfg   *config
	d     *Desired
	x     *index
	t     *table
	g     *Group
	ports []*port.Port
}

func chainName(dir, groupID string) string { return dir + "-" + groupID }

func (c *compiler) group() {
	base := c.t.chain(chainForward)
	sort.Slice(c.ports, func(i, j int) bool { return deviceOf(c.ports[i]) < deviceOf(c.ports[j]) })
	for _, p := range c.ports {
		for _, dir := range []string{DirEgress, DirIngress} {
			if !c.g.Up() {
				// Neutron's driver installs only the default-policy jumps
				// for a group that is down: everything on its ports drops.
				base.rules = append(base.rules, c.logged(dir, []*port.Port{p}, nil, false, "admin_state_down")...)
			}
			for _, m := range portMatches(dir, p) {
				if !c.g.Up() {
					base.rules = append(base.rules, rule{terms: with(m, term{kind: tDrop}),
						comment: "firewall group " + c.g.ID + " is down"})
					continue
				}
				base.rules = append(base.rules, rule{terms: with(m, term{kind: tJump, name: chainName(dir, c.g.ID)}),
					comment: "port " + p.ID, tuple: addrTuple(dir, m)})
			}
		}
	}
	if !c.g.Up() {
		return
	}
	for _, dir := range []string{DirIngress, DirEgress} {
		policyID := c.g.IngressPolicyID
		if dir == DirEgress {
			policyID = c.g.EgressPolicyID
		}
		ch := &chain{name: chainName(dir, c.g.ID)}
		ch.rules = append(ch.rules, c.logged(dir, c.ports, []term{{kind: tCtState, num: ctInvalid}}, false, "invalid")...)
		ch.rules = append(ch.rules,
			rule{terms: []term{{kind: tCtState, num: ctInvalid}, {kind: tDrop}}},
			rule{terms: []term{{kind: tCtState, num: ctEstablished | ctRelated}, {kind: tReturn}}})
		if c.t.router == hostTable {
			ch.rules = append(ch.rules, instanceBase(dir)...)
		}
		if p := c.x.policies[policyID]; p != nil {
			for _, id := range p.Rules {
				if r := c.x.rules[id]; r.IsEnabled() {
					ch.rules = append(ch.rules, c.rule(dir, r)...)
				}
			}
		}
		ch.rules = append(ch.rules, c.logged(dir, c.ports, nil, false, "default")...)
		ch.rules = append(ch.rules, rule{terms: []term{{kind: tDrop}}, comment: "default deny"})
		c.t.chains = append(c.t.chains, ch)
	}
}

func devMatch(dir, dev string) term {
	if dir == DirIngress {
		return term{kind: tOIF, name: dev}
	}
	return term{kind: tIIF, name: dev}
}

// rule compiles one enabled Neutron rule: its log rules, then the rule.
func (c *compiler) rule(dir string, r *Rule) []rule {
	v := r.ipVersion()
	m := []term{{kind: tNFProto, num: uint32(v)}}
	tp := &tuple{version: v, proto: r.proto()}
	if tp.proto != 0 {
		m = append(m, term{kind: tL4Proto, num: uint32(tp.proto)})
	}
	if a := r.SourceIPAddress; !a.IsZero() && a.Bits() > 0 {
		m = append(m, term{kind: tSaddr, prefix: a.Prefix})
		tp.src = a.Prefix
	}
	if a := r.DestinationIPAddress; !a.IsZero() && a.Bits() > 0 {
		m = append(m, term{kind: tDaddr, prefix: a.Prefix})
		tp.dst = a.Prefix
	}
	if r.SourcePort != "" {
		pr, _ := ParsePortRange(r.SourcePort)
		m = append(m, term{kind: tSport, ports: pr})
		tp.sport = &pr
	}
	if r.DestinationPort != "" {
		pr, _ := ParsePortRange(r.DestinationPort)
		m = append(m, term{kind: tDport, ports: pr})
		tp.dport = &pr
	}
	accept := r.action() == ActionAllow
	tp.allow = accept
	out := c.logged(dir, c.ports, m, accept, r.ID)
	cm := "rule " + r.ID
	switch r.action() {
	case ActionAllow:
		out = append(out, rule{terms: with(m, term{kind: tReturn}), comment: cm, tuple: tp})
	case ActionDeny:
		out = append(out, rule{terms: with(m, term{kind: tDrop}), comment: cm, tuple: tp})
	case ActionReject:
		if c.t.router != hostTable {
			out = append(out, c.reject(m, tp, cm)...)
			break
		}
		// Instance ports: the host namespace has no route towards the
		// bridged networks to send a RST or an ICMP error on, so reject
		// drops, as Neutron's OVS firewall driver does.
		out = append(out, rule{terms: with(m, term{kind: tDrop}), comment: cm + " (reject drops on instance ports)", tuple: tp})
	}
	return out
}

// reject answers TCP with a reset and other protocols with ICMP port
// unreachable; "any" protocol gets both rules.
func (c *compiler) reject(m []term, tp *tuple, cm string) []rule {
	switch tp.proto {
	case 6:
		return []rule{{terms: with(m, term{kind: tRejectTCP}), comment: cm, tuple: tp}}
	case 0:
		return []rule{{terms: with(m, term{kind: tL4Proto, num: 6}, term{kind: tRejectTCP}), comment: cm, tuple: tp},
			{terms: with(m, term{kind: tRejectICMP}), comment: cm, tuple: tp}}
	}
	return []rule{{terms: with(m, term{kind: tRejectICMP}), comment: cm, tuple: tp}}
}

// instanceBase is what an instance port needs whatever its policy, as
// Neutron's OVS firewall (which FWaaS on instance ports copies) allows it:
// neighbour discovery, and DHCP between the port and its server (requests
// enter the network from the instance: ingress; offers leave it towards
// the instance: egress).
func instanceBase(dir string) []rule {
	udp := func(v, sport, dport int) rule {
		return rule{terms: []term{{kind: tNFProto, num: uint32(v)}, {kind: tL4Proto, num: 17},
			{kind: tSport, ports: PortRange{uint16(sport), uint16(sport)}}, {kind: tDport, ports: PortRange{uint16(dport), uint16(dport)}},
			{kind: tReturn}}, comment: "DHCP"}
	}
	out := []rule{{terms: []term{{kind: tNFProto, num: 6}, {kind: tL4Proto, num: 58},
		{kind: tICMPv6Type, ports: PortRange{133, 137}}, {kind: tReturn}}, comment: "neighbour discovery"}}
	if dir == DirEgress {
		return append(out, udp(4, 67, 68), udp(6, 547, 546))
	}
	return append(out, udp(4, 68, 67), udp(6, 546, 547))
}

// with returns m followed by ts, in a new slice.
func with(m []term, ts ...term) []term {
	out := make([]term, 0, len(m)+len(ts))
	return append(append(out, m...), ts...)
}

// logged returns the log rules that record, before a verdict on matches
// m, the packets of each port in ports that a log covers: one rule per
// port, sharing the port's limit object for the event.
func (c *compiler) logged(dir string, ports []*port.Port, m []term, accept bool, ruleID string) []rule {
	var out []rule
	verdict, event := EventDrop, "drop"
	if accept {
		verdict, event = EventAccept, "accept"
	}
	for _, p := range ports {
		ids := c.logsOf(p, accept)
		if len(ids) == 0 {
			continue
		}
		lim := limit{name: "log-" + deviceOf(p) + "-" + event, rate: c.cfg.rate, burst: c.cfg.burst}
		c.addLimit(lim)
		px := flowlog.Prefix(c.t.router, p.ID, dir, ruleID, verdict)
		c.t.prefixes[px] = &logSource{LogIDs: ids, PortID: p.ID, GroupID: c.g.ID, RuleID: ruleID, Direction: dir, Verdict: verdict}
		for _, pm := range portMatches(dir, p) {
			terms := with(pm, m...)
			terms = append(terms, term{kind: tLimit, name: lim.name}, term{kind: tLog, name: px, num: uint32(c.cfg.group)})
			out = append(out, rule{terms: terms})
		}
	}
	return out
}

func (c *compiler) addLimit(l limit) {
	if c.t.limitx == nil {
		c.t.limitx = map[string]bool{}
	}
	if !c.t.limitx[l.name] {
		c.t.limitx[l.name] = true
		c.t.limits = append(c.t.limits, l)
	}
}

// logsOf returns the IDs of the enabled firewall-group logs that cover
// port p of the group for accepted (or dropped) packets.
func (c *compiler) logsOf(p *port.Port, accept bool) []string {
	var ids []string
	for i := range c.d.Logs {
		l := &c.d.Logs[i]
		if !l.IsEnabled() || l.ResourceType != ResourceFirewallGroup || !l.Covers(accept) {
			continue
		}
		if l.ResourceID != "" && l.ResourceID != c.g.ID || l.TargetID != "" && l.TargetID != p.ID {
			continue
		}
		if l.ResourceID == "" && l.TargetID == "" && l.ProjectID != "" && c.g.ProjectID != "" && l.ProjectID != c.g.ProjectID {
			continue
		}
		ids = append(ids, l.ID)
	}
	return ids
}
