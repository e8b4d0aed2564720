package router

import (
	"hash/fnv"
	"net/netip"
	"slices"
)

// Address families, as indexes of ifaceSpec.Scope.
const (
	famV4 = 0
	famV6 = 1
)

func familyOf(a netip.Addr) int {
	if a.Unmap().Is4() {
		return famV4
	}
	return famV6
}

// The packet mark of a router namespace carries the address scope of the
// interface a packet came in through, in its upper 16 bits as Neutron's
// L3 agent does (0xffff0000): the lower half stays free for other marks.
const (
	scopeMarkShift = 16
	// noScopeMark marks subnets in no address scope: they share it with
	// each other (Neutron gives "noscope" one mark too).
	noScopeMark = 1 << scopeMarkShift
)

// scopeSpec is a router's address-scope policy, as Neutron's L3 agent
// realizes it (router_info.py, process_address_scope): every interface and
// family has the mark of its subnets' scope; a new connection may leave
// through an interface only with that interface's mark, so it stays within
// its scope, unless it crosses legitimately: translated by a floating IP,
// or SNATed out of the gateway. IPv4 leaving through the gateway with the
// gateway's own scope is not SNATed at all.
type scopeSpec struct {
	// Marks has one element per interface and family the interface has
	// subnets of, sorted by device, then family.
	Marks []scopeMark
	// GatewayDev is the gateway device, "" without gateway.
	GatewayDev string
	// NoSNATMark is the mark of the gateway's IPv4 scope when the router
	// SNATs: IPv4 carrying it leaves through the gateway untranslated.
	// 0: no SNAT, or the gateway's IPv4 subnet is in no scope.
	NoSNATMark uint32
	// SNATCrosses says IPv4 may leave through the gateway from any scope,
	// because it is SNATed (enable_snat; Neutron's dont_block_external).
	SNATCrosses bool
}

// scopeMark is the mark of one interface's subnets of one family.
type scopeMark struct {
	Dev  string
	Fam  int
	Mark uint32
}

// compileScope decides the router's address-scope policy from its
// interfaces' scopes and its NAT. A router with no interface in an address
// scope has none (nil): every interface would carry the same mark, so there
// is nothing to enforce, and its table stays as it was without scopes.
func compileScope(spec *routerSpec) *scopeSpec {
	var ids []string
	for _, i := range spec.Ifaces {
		for _, sc := range i.Scope {
			if sc != "" && !slices.Contains(ids, sc) {
				ids = append(ids, sc)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	marks := scopeMarks(ids)
	out := &scopeSpec{}
	for _, i := range spec.Ifaces { // sorted by name
		for fam := range i.Scope {
			if i.hasFamily(fam) {
				out.Marks = append(out.Marks, scopeMark{Dev: i.Name, Fam: fam, Mark: marks[i.Scope[fam]]})
			}
		}
	}
	if g := spec.Gateway; g != nil {
		out.GatewayDev = g.Name
		if spec.NAT != nil && spec.NAT.SNAT {
			out.SNATCrosses = true
			if sc := g.Scope[famV4]; sc != "" {
				out.NoSNATMark = marks[sc]
			}
		}
	}
	return out
}

// scopeMarks numbers the scopes of one router: "" (none) is noScopeMark,
// each scope a mark derived from its ID, so that the mark of a scope does
// not depend on which other scopes the router has (adding a subnet changes
// no other interface's mark), except in the rare collision of two IDs,
// settled in ID order.
func scopeMarks(ids []string) map[string]uint32 {
	ids = slices.Sorted(slices.Values(ids))
	out := map[string]uint32{"": noScopeMark}
	used := map[uint32]bool{noScopeMark: true}
	for _, id := range ids {
		h := fnv.New32a()
		h.Write([]byte(id))
		v := h.Sum32() & 0xffff
		for m := v << scopeMarkShift; v < 2 || used[m]; m = v << scopeMarkShift {
			v = (v + 1) & 0xffff
		}
		out[id] = v << scopeMarkShift
		used[out[id]] = true
	}
	return out
}

// hasFamily reports whether the interface has a subnet of the family.
func (i *ifaceSpec) hasFamily(fam int) bool {
	return slices.ContainsFunc(i.Subnets, func(p netip.Prefix) bool { return familyOf(p.Addr()) == fam })
}

// mark returns the mark of dev's subnets of the family; 0 when dev has none.
func (s *scopeSpec) mark(dev string, fam int) uint32 {
	for _, m := range s.Marks {
		if m.Dev == dev && m.Fam == fam {
			return m.Mark
		}
	}
	return 0
}

// blocked reports whether a new connection of the family that enters
// through device in and leaves through device out, untranslated by a
// floating IP, is dropped: it would cross address scopes, and is not IPv4
// SNATed out of the gateway. This is the decision the forward chain
// carries out (scopeRules); tests read it here.
func (s *scopeSpec) blocked(in, out string, fam int) bool {
	if s == nil {
		return false
	}
	if fam == famV4 && out == s.GatewayDev && s.SNATCrosses {
		return false
	}
	m := s.mark(in, fam)
	return m == 0 || m != s.mark(out, fam)
}

// snats reports whether IPv4 from device in that leaves through the
// gateway is SNATed to the gateway address (floating IPs aside): with
// enable_snat, unless in is in the gateway's scope.
func (s *routerSpec) snats(in string) bool {
	if s.NAT == nil || !s.NAT.SNAT {
		return false
	}
	return s.Scope == nil || s.Scope.NoSNATMark == 0 || s.Scope.mark(in, famV4) != s.Scope.NoSNATMark
}

// noNAT returns the internal subnets routed to and from the external
// network without any address translation: those in the address scope of
// the gateway's subnets of their family (Neutron: "the use of floating IPs
// can be avoided"). Sorted.
func (s *routerSpec) noNAT() []netip.Prefix {
	var out []netip.Prefix
	if s.Gateway == nil {
		return nil
	}
	for _, i := range s.Ifaces {
		if i.Gateway {
			continue
		}
		for _, p := range i.Subnets {
			fam := familyOf(p.Addr())
			if sc := i.Scope[fam]; sc != "" && sc == s.Gateway.Scope[fam] {
				out = append(out, p)
			}
		}
	}
	sortPrefixes(out)
	return out
}

func sortMarks(ms []scopeMark) {
	slices.SortFunc(ms, func(a, b scopeMark) int {
		if c := cmpString(a.Dev, b.Dev); c != 0 {
			return c
		}
		if a.Fam != b.Fam {
			return a.Fam - b.Fam
		}
		return int(a.Mark>>scopeMarkShift) - int(b.Mark>>scopeMarkShift)
	})
}
