package firewall

import (
	"fmt"

	"github.com/neutrino-net/neutrino/internal/report"
)

// tableState is what the kernel holds in one router's table, as far as
// diffing needs it: chains with the content hashes and handles of their
// rules, and the limit objects.
type tableState struct {
	chains map[string]*chainState
	limits map[string]limit
}

type chainState struct {
	base  bool // a base chain of our shape (hook forward, priority filter)
	hook  bool // a base chain at all
	rules []ruleState
}

type ruleState struct {
	hash   uint64 // 0 for a rule without our hash
	handle uint64
}

// tablePlan is the change of one router's table, committed as one
// transaction.
type tablePlan struct {
	router string
	// drop deletes the table first (it is no longer wanted, or its base
	// chain is not ours); want, if non-nil, is then created whole.
	drop bool
	want *table
	// Incremental changes of an existing table.
	addLimits []limit
	delLimits []string
	addChains []*chain
	delChains []string
	edits     []chainEdit
	// cut lists the rules whose flows must lose their conntrack entries;
	// cutAll asks for every entry of the namespace (a port newly filtered,
	// as Neutron flushes conntrack when a group is created).
	cut    []*tuple
	cutAll bool
	rep    *report.Report
	// known finds the Neutron rule that a rule compiled by this process
	// enforces (nil for other rules), by content hash.
	known knownRules
}

// knownRules maps the content hashes of the rules of the last two
// compilations to the Neutron rules they enforce.
type knownRules struct{ cur, prev map[uint64]*tuple }

func (k knownRules) get(h uint64) (*tuple, bool) {
	if t, ok := k.cur[h]; ok {
		return t, true
	}
	t, ok := k.prev[h]
	return t, ok
}

// chainEdit replaces rules [from, to) of an existing chain (by handle)
// with the new rules, inserted before handle `before` (0: appended).
type chainEdit struct {
	chain  *chain
	del    []uint64
	add    []rule
	before uint64
	// head and tail are how many rules stay before and after.
	head, tail int
}

func (p *tablePlan) empty() bool { return p.rep.Mutations() == 0 }

// diffTable plans the change from have (nil: no table) to want (nil: no
// table wanted). Rule changes cost what changed: the common head and
// tail of each chain stay, the middle is replaced.
func diffTable(router string, have *tableState, want *table, known knownRules) *tablePlan {
	p := &tablePlan{router: router, rep: &report.Report{}, known: known}
	where := " in qrouter-" + router
	if router == hostTable {
		where = " in the host namespace"
	}
	if have != nil && (want == nil || !shapeOK(have) || limitsChanged(have, want)) {
		p.drop = true
		report.Addf(p.rep, report.Delete, "table", "inet %s%s", TableName, where)
		have = nil
		if want == nil {
			return p
		}
	}
	if want == nil {
		return p
	}
	if have == nil {
		p.want = want
		p.cutAll = router != hostTable
		for _, r := range want.chain(chainForward).rules {
			if r.tuple != nil {
				p.cut = append(p.cut, r.tuple)
			}
		}
		report.Addf(p.rep, report.Create, "table", "inet %s%s", TableName, where)
		for _, c := range want.chains {
			report.Addf(p.rep, report.Create, "chain", "%s%s", c.name, where)
			report.AddN(p.rep, report.Create, "rule", len(c.rules), fmt.Sprintf("%d rules in %s%s", len(c.rules), c.name, where))
		}
		report.AddN(p.rep, report.Create, "limit", len(want.limits), fmt.Sprintf("%d limits%s", len(want.limits), where))
		return p
	}
	for _, l := range want.limits {
		if _, ok := have.limits[l.name]; !ok {
			p.addLimits = append(p.addLimits, l)
			report.Addf(p.rep, report.Create, "limit", "%s%s", l.name, where)
		}
	}
	wanted := map[string]bool{}
	for _, l := range want.limits {
		wanted[l.name] = true
	}
	for name := range have.limits {
		if !wanted[name] {
			p.delLimits = append(p.delLimits, name)
			report.Addf(p.rep, report.Delete, "limit", "%s%s", name, where)
		}
	}
	wantChains := map[string]bool{}
	for _, c := range want.chains {
		wantChains[c.name] = true
		hc := have.chains[c.name]
		if hc == nil {
			p.addChains = append(p.addChains, c)
			report.Addf(p.rep, report.Create, "chain", "%s%s", c.name, where)
			report.AddN(p.rep, report.Create, "rule", len(c.rules), fmt.Sprintf("%d rules in %s%s", len(c.rules), c.name, where))
			continue
		}
		p.editChain(c, hc, where)
	}
	for name := range have.chains {
		if !wantChains[name] {
			p.delChains = append(p.delChains, name)
			report.Addf(p.rep, report.Delete, "chain", "%s%s", name, where)
		}
	}
	return p
}

// limitsChanged reports whether a limit object the table keeps has
// another rate or burst: rules reference it, so the table is rebuilt (the
// rates are the realizer's options, which change with a restart at most).
func limitsChanged(have *tableState, want *table) bool {
	for _, l := range want.limits {
		if hl, ok := have.limits[l.name]; ok && hl != l {
			return true
		}
	}
	return false
}

// shapeOK reports whether the table's base chain is ours: a chain called
// forward that is not our base chain (or a base chain under another name)
// means the table was changed by hand; it is rebuilt.
func shapeOK(have *tableState) bool {
	for name, c := range have.chains {
		if c.hook && (name != chainForward || !c.base) {
			return false
		}
		if name == chainForward && !c.base {
			return false
		}
	}
	return true
}

// editChain plans the middle of chain c that differs from what the
// kernel holds.
func (p *tablePlan) editChain(c *chain, hc *chainState, where string) {
	want := c.hashes()
	head := 0
	for head < len(want) && head < len(hc.rules) && want[head] == hc.rules[head].hash {
		head++
	}
	tail := 0
	for tail < len(want)-head && tail < len(hc.rules)-head &&
		want[len(want)-1-tail] == hc.rules[len(hc.rules)-1-tail].hash {
		tail++
	}
	oldMid := hc.rules[head : len(hc.rules)-tail]
	newMid := c.rules[head : len(c.rules)-tail]
	if len(oldMid) == 0 && len(newMid) == 0 {
		return
	}
	e := chainEdit{chain: c, add: newMid, head: head, tail: tail}
	for _, r := range oldMid {
		e.del = append(e.del, r.handle)
	}
	if tail > 0 {
		e.before = hc.rules[len(hc.rules)-tail].handle
	}
	p.edits = append(p.edits, e)
	report.AddN(p.rep, report.Delete, "rule", len(oldMid), fmt.Sprintf("%d rules from %s%s", len(oldMid), c.name, where))
	report.AddN(p.rep, report.Create, "rule", len(newMid), fmt.Sprintf("%d rules in %s%s", len(newMid), c.name, where))
	if c.base {
		// A port newly protected: its flows were allowed without the
		// policy. An instance port's are those of its addresses; a router
		// port's cannot be told apart (Neutron flushes them all).
		for _, r := range newMid {
			for _, t := range r.terms {
				switch {
				case t.kind != tJump:
				case r.tuple != nil:
					p.cut = append(p.cut, r.tuple)
				default:
					p.cutAll = true
				}
			}
		}
		return
	}
	// Flows the old rules allowed may have lost their permission: those a
	// removed allow rule matched, and those an added deny or reject rule
	// matches. A removed rule this process never compiled (it was written
	// before a restart) is unknown: every flow of the namespace is cut.
	for _, r := range oldMid {
		t, ok := p.known.get(r.hash)
		switch {
		case !ok:
			p.cutAll = true
		case t != nil && t.allow:
			p.cut = append(p.cut, t)
		}
	}
	for _, r := range newMid {
		if r.tuple != nil && !r.tuple.allow {
			p.cut = append(p.cut, r.tuple)
		}
	}
}

// result is the state of the table once the plan is committed on top of
// have, given the handles the kernel gave the added rules (per chain, in
// the order they were added). nil: no table.
func (p *tablePlan) result(have *tableState, handles map[string][]uint64) *tableState {
	if p.want == nil && p.drop {
		return nil
	}
	fresh := func(c *chain) *chainState {
		cs := &chainState{base: c.base, hook: c.base}
		hs := handles[c.name]
		for i, h := range c.hashes() {
			var hd uint64
			if i < len(hs) {
				hd = hs[i]
			}
			cs.rules = append(cs.rules, ruleState{hash: h, handle: hd})
		}
		return cs
	}
	st := &tableState{chains: map[string]*chainState{}, limits: map[string]limit{}}
	if p.want != nil {
		for _, c := range p.want.chains {
			st.chains[c.name] = fresh(c)
		}
		for _, l := range p.want.limits {
			st.limits[l.name] = l
		}
		return st
	}
	for name, cs := range have.chains {
		st.chains[name] = cs
	}
	for name, l := range have.limits {
		st.limits[name] = l
	}
	for _, name := range p.delChains {
		delete(st.chains, name)
	}
	for _, name := range p.delLimits {
		delete(st.limits, name)
	}
	for _, l := range p.addLimits {
		st.limits[l.name] = l
	}
	for _, c := range p.addChains {
		st.chains[c.name] = fresh(c)
	}
	for _, e := range p.edits {
		old := st.chains[e.chain.name]
		hs := handles[e.chain.name]
		cs := &chainState{base: old.base, hook: old.hook}
		cs.rules = append(cs.rules, old.rules[:e.head]...)
		for i, r := range e.add {
			var hd uint64
			if i < len(hs) {
				hd = hs[i]
			}
			cs.rules = append(cs.rules, ruleState{hash: r.hash(), handle: hd})
		}
		cs.rules = append(cs.rules, old.rules[len(old.rules)-e.tail:]...)
		st.chains[e.chain.name] = cs
	}
	return st
}
