package secgroup

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/neutrino-net/neutrino/internal/report"
)

// plan is the difference between the kernel's state and a compiled
// ruleset, as the operations of one nftables transaction (tablePlan, in
// the order write applies them) and the conntrack cleanups that follow it.
type plan struct {
	tables   []*tablePlan
	cleanups []cleanup
	report   *Report
}

type tablePlan struct {
	family    family
	t         *table // nil: the table is not wanted
	delTable  bool   // an object of ours has the wrong type: rebuild the table
	addTable  bool
	addSets   []*set
	addChains []*chain
	delElems  map[string][]elem
	fill      []*chain        // chains whose rules are (re)written
	flush     map[string]bool // ...after flushing their old rules
	addElems  map[string][]elem
	delChains []string // flushed, then deleted
	delSets   []string
}

func (p *plan) empty() bool { return p.report.Mutations() == 0 }

// diff computes the plan that turns st (nil: nothing of ours exists) into
// rs.
func diff(st *state, rs *ruleset, cfg *config) *plan {
	p := &plan{report: &Report{}}
	cl := newCleanups(rs, cfg)
	want := rs.tables()
	for _, f := range families {
		var ts *tableState
		if st != nil {
			ts = st.tables[f]
		}
		if want[f] == nil {
			if ts != nil {
				p.tables = append(p.tables, &tablePlan{family: f, delTable: true})
				report.Record(p.report, report.Delete, "table", 1, fmt.Sprintf("delete table %s %s: no ports on this node", f, TableName))
			}
			continue
		}
		p.tables = append(p.tables, diffTable(ts, want[f], p.report, cl))
	}
	p.cleanups = cl.list(p.report)
	return p
}

func diffTable(ts *tableState, t *table, r *Report, cl *cleanups) *tablePlan {
	tp := &tablePlan{family: t.family, t: t, delElems: map[string][]elem{}, addElems: map[string][]elem{}, flush: map[string]bool{}}
	where := string(t.family) + " " + TableName
	if ts != nil && conflicting(ts, t) {
		tp.delTable = true
		report.Record(r, report.Delete, "table", 1, fmt.Sprintf("delete table %s: an object has the wrong type or hook", where))
		ts = nil
	}
	if ts == nil {
		tp.addTable = true
		report.Record(r, report.Create, "table", 1, fmt.Sprintf("create table %s", where))
		ts = &tableState{chains: map[string]*chainState{}, sets: map[string]*setState{}}
	}
	for _, s := range t.sets {
		old := ts.sets[s.name]
		if old == nil {
			tp.addSets = append(tp.addSets, s)
			report.Record(r, report.Create, "set", 1, fmt.Sprintf("create set %s %s", where, s.name))
			if len(s.elems) > 0 {
				tp.addElems[s.name] = s.elems
				report.Record(r, report.Create, "element", len(s.elems), fmt.Sprintf("add %d elements to %s %s", len(s.elems), where, s.name))
			}
			continue
		}
		diffElems(tp, old, s, r, where, cl)
	}
	for _, c := range t.chains {
		old := ts.chains[c.name]
		n := len(c.rules)
		switch {
		case old == nil:
			tp.addChains = append(tp.addChains, c)
			tp.fill = append(tp.fill, c)
			report.Record(r, report.Create, "chain", 1, fmt.Sprintf("create chain %s %s", where, c.name))
			report.Record(r, report.Create, "rule", n, fmt.Sprintf("add %d rules to %s %s", n, where, c.name))
		case !slices.Equal(old.hashes, c.hashes()):
			tp.fill = append(tp.fill, c)
			tp.flush[c.name] = len(old.hashes) > 0
			report.Record(r, report.Update, "chain", 1, fmt.Sprintf("rewrite chain %s %s (%d rules, was %d)", where, c.name, n, len(old.hashes)))
			report.Count(r, report.Create, "rule", n)
			report.Count(r, report.Delete, "rule", len(old.hashes))
			if c.kind == kindGroup && c.dir != "" && removesRules(old.hashes, c.hashes(), c.logHashes) {
				cl.group(c.owner, c.dir)
			}
		}
	}
	for _, name := range sortedKeys(ts.chains) {
		if _, ok := t.chainx[name]; !ok {
			tp.delChains = append(tp.delChains, name)
			report.Record(r, report.Delete, "chain", 1, fmt.Sprintf("delete chain %s %s", where, name))
			report.Count(r, report.Delete, "rule", len(ts.chains[name].hashes))
		}
	}
	for _, name := range sortedKeys(ts.sets) {
		if _, ok := t.setx[name]; !ok {
			tp.delSets = append(tp.delSets, name)
			report.Record(r, report.Delete, "set", 1, fmt.Sprintf("delete set %s %s", where, name))
		}
	}
	return tp
}

// conflicting reports whether an existing chain or set of ours has a type
// the update cannot change in place: a base chain with another hook or
// priority, a set with another key type or flags.
func conflicting(ts *tableState, t *table) bool {
	for _, c := range t.chains {
		if old := ts.chains[c.name]; old != nil {
			if (old.hook == nil) != (c.hook == nil) || (c.hook != nil && *old.hook != *c.hook) {
				return true
			}
		}
	}
	for _, s := range t.sets {
		if old := ts.sets[s.name]; old != nil && old.spec != s.spec() {
			return true
		}
	}
	return false
}

// removesRules reports whether a chain loses a rule it had, other than a
// log rule (logs, when given, returns the hashes of those: losing one
// takes no permission away).
func removesRules(old, new []uint64, logs func() map[uint64]bool) bool {
	have := make(map[uint64]bool, len(new))
	for _, h := range new {
		have[h] = true
	}
	var logRules map[uint64]bool
	for _, h := range old {
		if have[h] {
			continue
		}
		if logRules == nil && logs != nil {
			logRules = logs()
		}
		if !logRules[h] {
			return true
		}
	}
	return false
}

func diffElems(tp *tablePlan, old *setState, s *set, r *Report, where string, cl *cleanups) {
	var del, add []elem
	want := make(map[string]bool, len(s.elems))
	for _, e := range s.elems {
		id := e.id()
		want[id] = true
		if _, ok := old.elems[id]; !ok {
			add = append(add, e)
		}
	}
	for id, e := range old.elems {
		if !want[id] {
			del = append(del, e)
		}
	}
	if len(del) == 0 && len(add) == 0 {
		return
	}
	sortElems(del)
	tp.delElems[s.name], tp.addElems[s.name] = del, add
	added := map[string]bool{}
	for _, e := range add {
		added[e.keyID()] = true
	}
	updated := 0
	for _, e := range del {
		if added[e.keyID()] {
			updated++
		}
	}
	report.Count(r, report.Update, "element", updated)
	report.Count(r, report.Create, "element", len(add)-updated)
	report.Count(r, report.Delete, "element", len(del)-updated)
	r.Changes = append(r.Changes, fmt.Sprintf("set %s %s: add %d, delete %d elements", where, s.name, len(add)-updated, len(del)-updated)+
		map[bool]string{true: fmt.Sprintf(", update %d", updated), false: ""}[updated > 0])
	cl.elems(s, del, add)
}

// cleanup is a set of conntrack entries to delete after the commit: the
// connections of one filtered port, in its network's zone, in the
// directions whose policy shrank, optionally only those with a remote end
// in the given intervals.
type cleanup struct {
	port            *portInfo
	ingress, egress bool
	remote          []elem // nil: any remote address
}

func (c cleanup) String() string {
	var dirs []string
	if c.ingress {
		dirs = append(dirs, Ingress)
	}
	if c.egress {
		dirs = append(dirs, Egress)
	}
	s := fmt.Sprintf("clear %s connections of port %s (zone %d)", strings.Join(dirs, " and "), c.port.id, c.port.zone)
	if c.remote != nil {
		s += fmt.Sprintf(" with %d removed remote ranges", len(c.remote))
	}
	return s
}

// cleanups collects cleanup needs while diffing.
type cleanups struct {
	rs   *ruleset
	cfg  *config
	full map[uint32]*cleanup // port number -> whole-direction cleanups
	part map[uint32][]elem   // port number -> removed remote ranges
}

func newCleanups(rs *ruleset, cfg *config) *cleanups {
	return &cleanups{rs: rs, cfg: cfg, full: map[uint32]*cleanup{}, part: map[uint32][]elem{}}
}

func (cl *cleanups) port(n uint32, dir string) {
	pi := cl.rs.ports[n]
	if pi == nil {
		return // the port is gone; its device and flows go with it
	}
	c := cl.full[n]
	if c == nil {
		c = &cleanup{port: pi}
		cl.full[n] = c
	}
	if dir == Ingress || dir == "" {
		c.ingress = true
	}
	if dir == Egress || dir == "" {
		c.egress = true
	}
}

// group: a group chain lost a rule, so the group's ports lose flows in
// that direction (Neutron: conntrack -D for each affected port IP).
func (cl *cleanups) group(gid, dir string) {
	for _, n := range cl.rs.groupPorts[gid] {
		cl.port(n, dir)
	}
}

// elems: a changed set element may end flows.
func (cl *cleanups) elems(s *set, del, add []elem) {
	switch {
	case s.name == mapEgress || s.name == mapIngress:
		dir := map[string]string{mapEgress: Egress, mapIngress: Ingress}[s.name]
		for _, e := range del {
			cl.port(markValue(e.key)>>cl.cfg.shift, dir)
		}
	case s.name == setStateless:
		for _, e := range append(append([]elem(nil), del...), add...) {
			cl.port(markValue(e.key)>>cl.cfg.shift, "")
		}
	case len(del) > 0 && (strings.HasPrefix(s.name, "rg-") || strings.HasPrefix(s.name, "ag-")):
		// A join that merges into a neighbouring interval deletes and
		// re-adds it: only addresses no new interval covers have left.
		gone := removedRanges(del, add)
		if len(gone) == 0 {
			return
		}
		for _, gid := range cl.rs.setUsers[s.name] {
			for _, n := range cl.rs.groupPorts[gid] {
				cl.part[n] = append(cl.part[n], gone...)
			}
		}
	}
}

// removedRanges returns the parts of the half-open intervals in del that no
// interval in add covers.
func removedRanges(del, add []elem) []elem {
	var out []elem
	for _, d := range del {
		pieces := []elem{{key: d.key, end: d.end, open: d.open}}
		for _, a := range add {
			var next []elem
			for _, p := range pieces {
				next = append(next, cutRange(p, a)...)
			}
			pieces = next
		}
		out = append(out, pieces...)
	}
	return out
}

// cutRange returns p minus a, both [key, end) or, when open, [key, ∞).
func cutRange(p, a elem) []elem {
	if len(p.key) != len(a.key) || (!a.open && bytes.Compare(a.end, p.key) <= 0) || (!p.open && bytes.Compare(a.key, p.end) >= 0) {
		return []elem{p}
	}
	var out []elem
	if bytes.Compare(p.key, a.key) < 0 {
		out = append(out, elem{key: p.key, end: a.key})
	}
	if !a.open && (p.open || bytes.Compare(a.end, p.end) < 0) {
		out = append(out, elem{key: a.end, end: p.end, open: p.open})
	}
	return out
}

func (cl *cleanups) list(r *Report) []cleanup {
	var out []cleanup
	nums := make([]uint32, 0, len(cl.full)+len(cl.part))
	for n := range cl.full {
		nums = append(nums, n)
	}
	for n := range cl.part {
		if _, ok := cl.full[n]; !ok {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	for _, n := range nums {
		if c := cl.full[n]; c != nil {
			out = append(out, *c)
		}
		if rem, ok := cl.part[n]; ok && (cl.full[n] == nil || !(cl.full[n].ingress && cl.full[n].egress)) {
			if pi := cl.rs.ports[n]; pi != nil {
				out = append(out, cleanup{port: pi, ingress: true, egress: true, remote: rem})
			}
		}
	}
	for _, c := range out {
		report.Record(r, report.Delete, "conntrack", 1, c.String())
	}
	return out
}

// contains reports whether a is in an interval element of a plain address
// set.
func (e elem) contains(a netip.Addr) bool {
	start, ok := netip.AddrFromSlice(e.key)
	if !ok || start.Is4() != a.Is4() || a.Less(start) {
		return false
	}
	if e.open {
		return true
	}
	end, _ := netip.AddrFromSlice(e.end)
	return a.Less(end)
}
