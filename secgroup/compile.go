package secgroup

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"sort"
	"strings"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nft"
	"github.com/neutrino-net/neutrino/port"
)

// Names of the fixed objects. Per-port and per-group names are built by
// the functions below.
const (
	setBridges   = "bridges"
	setZones     = "zones"
	setStateless = "stateless"
	mapEgress    = "egress-ports"
	mapIngress   = "ingress-ports"
	setNDEgress  = "nd-egress"
	setNDIngress = "nd-ingress"

	mapPortMarks = "port-marks"
	mapPortsOut  = "ports-out"
	setMACs      = "macs"
	setPairs4    = "pairs4"
	setPairs6    = "pairs6"
	setDAD       = "dad"

	chainRaw           = "raw-prerouting"
	chainEgress        = "port-egress"
	chainEgressUnmark  = "port-egress-unmark"
	chainIngress       = "port-ingress"
	chainIngressUnmark = "port-ingress-unmark"
	chainPrerouting    = "prerouting"
	chainForward       = "forward"
	chainAntispoof     = "antispoof"
)

// Hook priorities. Bridge family: before br_netfilter (prerouting 0,
// forward -1), which runs the inet hooks for bridged IP traffic. Inet:
// the zone must be set before conntrack (-200); egress filtering runs right
// after conntrack so that ct state is known, and before the mangle (-150),
// nat and filter chains of other software, as does ingress filtering, so
// the port-number bits are cleared before they see the packet.
const (
	prioBridgePrerouting = -300
	prioBridgeForward    = -200
	prioRaw              = -300
	prioEgress           = -199
	prioIngress          = -200
)

func groupChain(gid, dir string) string { return "sg-" + gid + "-" + dir }
func comboChain(gids []string, dir string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.Join(gids, ",")))
	return fmt.Sprintf("sgs-%08x-%s", h.Sum32(), dir)
}
func zoneChain(bridge string) string { return "zone-" + bridge }
func toChain(tap string) string      { return "to-" + tap }

func memberSet(gid string, v6 bool) string { return "rg-" + gid + famSuffix(v6) }
func addrGroupSet(id string, v6 bool) string {
	return "ag-" + id + famSuffix(v6)
}

func famSuffix(v6 bool) string {
	if v6 {
		return "-v6"
	}
	return "-v4"
}

// ICMPv6 types the port chains let through without a rule: neighbour
// discovery and MLD out (Neutron's egress allows all ICMPv6 but router
// advertisements; redirects are left to rules here), and MLD queries,
// router advertisements, neighbour solicitations and advertisements in.
var (
	ndEgressTypes  = []uint8{130, 131, 132, 133, 135, 136, 143}
	ndIngressTypes = []uint8{130, 134, 135, 136}
	dadTypes       = []uint8{131, 135, 143}
)

// compiler holds one compilation's state.
type compiler struct {
	d    *Desired
	cfg  *config
	rs   *ruleset
	grp  map[string]*SecurityGroup
	agrp map[string]*AddressGroup
	// members holds the addresses of each group's member ports, per
	// family (fam).
	members [2]map[string][]netip.Prefix
}

// compile turns desired into the node's ruleset. prev carries the port
// numbers and zones in use, which are kept. desired must be valid.
func compile(d *Desired, cfg *config, prev numbers) (*ruleset, numbers, error) {
	c := &compiler{d: d, cfg: cfg, grp: map[string]*SecurityGroup{}, agrp: map[string]*AddressGroup{}}
	for i := range d.Groups {
		c.grp[d.Groups[i].ID] = &d.Groups[i]
	}
	for i := range d.AddressGroups {
		c.agrp[d.AddressGroups[i].ID] = &d.AddressGroups[i]
	}
	c.rs = &ruleset{ports: map[uint32]*portInfo{}, groupPorts: map[string][]uint32{}, setUsers: map[string][]string{}}
	if len(d.Ports) == 0 {
		return c.rs, numbers{}, nil
	}
	c.rs.inet, c.rs.bridge = newTable(familyInet), newTable(familyBridge)

	local := make([]*port.Port, 0, len(d.Ports))
	bridges := map[string]string{} // bridge -> network ID
	var taps []string
	for i := range d.Ports {
		p := &d.Ports[i]
		local = append(local, p)
		bridges[naming.Bridge(p.NetworkID)] = p.NetworkID
		if filtered(p) {
			taps = append(taps, naming.Tap(p.ID))
		}
	}
	sort.Slice(local, func(i, j int) bool { return local[i].ID < local[j].ID })
	nums := numbers{zones: assignZones(bridges, prev.zones)}
	var err error
	if nums.ports, err = assignPorts(taps, prev.ports, cfg.maxPort()); err != nil {
		return nil, numbers{}, err
	}
	c.collectMembers()

	c.planLogs(local, nums.ports)
	c.inetBase(bridges, nums.zones)
	c.logSets()
	c.bridgeBase()
	usedGroups := map[string]bool{}
	for _, p := range local {
		if !filtered(p) {
			continue
		}
		tap := naming.Tap(p.ID)
		n := nums.ports[tap]
		gids := sortedUnique(p.SecurityGroups)
		for _, g := range gids {
			usedGroups[g] = true
			c.rs.groupPorts[g] = append(c.rs.groupPorts[g], n)
		}
		c.rs.ports[n] = &portInfo{id: p.ID, tap: tap, zone: nums.zones[naming.Bridge(p.NetworkID)], addrs: portAddrs(p), groups: gids}
		c.port(p, tap, n, gids)
	}
	groupIDs := make([]string, 0, len(usedGroups))
	for g := range usedGroups {
		groupIDs = append(groupIDs, g)
	}
	sort.Strings(groupIDs)
	for _, g := range groupIDs {
		c.group(c.grp[g])
	}
	for _, t := range []*table{c.rs.inet, c.rs.bridge} {
		for _, s := range t.sets {
			sortElems(s.elems)
		}
	}
	return c.rs, nums, nil
}

// collectMembers gathers the addresses of every port, here or elsewhere,
// per security group and family: the members of remote groups. Like
// Neutron's ipsets they include the allowed address pairs. It runs over
// every port of the deployment on every Apply, so it allocates little.
func (c *compiler) collectMembers() {
	c.members = [2]map[string][]netip.Prefix{{}, {}}
	local := make(map[string]bool, len(c.d.Ports))
	for i := range c.d.Ports {
		local[c.d.Ports[i].ID] = true
		c.addMember(&c.d.Ports[i])
	}
	for i := range c.d.Members {
		if p := &c.d.Members[i]; !local[p.ID] {
			c.addMember(p)
		}
	}
}

func (c *compiler) addMember(p *port.Port) {
	groups := p.SecurityGroups
	if len(groups) > 1 {
		groups = sortedUnique(groups)
	}
	for _, g := range groups {
		for _, ip := range p.FixedIPs {
			if a := ip.IPAddress.Unmap(); a.IsValid() {
				c.members[fam(a)][g] = append(c.members[fam(a)][g], netip.PrefixFrom(a, a.BitLen()))
			}
		}
		for _, pair := range p.AllowedAddressPairs {
			if pair.IPAddress.IsValid() {
				a := pair.IPAddress.Masked()
				c.members[fam(a.Addr())][g] = append(c.members[fam(a.Addr())][g], a)
			}
		}
	}
}

// fam indexes per-family tables: 0 for IPv4, 1 for IPv6.
func fam(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// portAddrs is a port's fixed IPs (as host prefixes) and allowed address
// pairs.
func portAddrs(p *port.Port) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(p.FixedIPs)+len(p.AllowedAddressPairs))
	for _, ip := range p.FixedIPs {
		if ip.IPAddress.IsValid() {
			a := ip.IPAddress.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	for _, pair := range p.AllowedAddressPairs {
		if pair.IPAddress.IsValid() {
			out = append(out, pair.IPAddress.Masked())
		}
	}
	return out
}

func sortedUnique(ss []string) []string {
	out := append([]string(nil), ss...)
	sort.Strings(out)
	w := 0
	for i, s := range out {
		if i == 0 || s != out[w-1] {
			out[w] = s
			w++
		}
	}
	return out[:w]
}

func splitFamilies(ps []netip.Prefix) (v4, v6 []netip.Prefix) {
	for _, p := range ps {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return v4, v6
}

// intervalElems turns prefixes of one family into interval elements.
func intervalElems(ps []netip.Prefix) []elem {
	ivs, err := nft.Intervals(ps)
	if err != nil { // one family by construction
		panic(err)
	}
	return ivElems(ivs)
}

// ivElems turns intervals into interval elements.
func ivElems(ivs []nft.Interval) []elem {
	out := make([]elem, 0, len(ivs))
	for _, iv := range ivs {
		e := elem{key: iv.Start.AsSlice(), open: iv.Open()}
		if !iv.Open() {
			e.end = iv.End.AsSlice()
		}
		out = append(out, e)
	}
	return out
}

func constSet(name string, typ setType, values []uint8, comment string) *set {
	s := &set{name: name, key: typ, comment: comment}
	for _, v := range values {
		s.elems = append(s.elems, elem{key: []byte{v}})
	}
	return s
}
