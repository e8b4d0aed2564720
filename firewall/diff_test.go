package firewall

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stateOf is the kernel state after committing t, with handles numbered
// from 1 in chain order.
func stateOf(t *table) *tableState {
	st := &tableState{chains: map[string]*chainState{}, limits: map[string]limit{}}
	h := uint64(0)
	for _, c := range t.chains {
		cs := &chainState{base: c.base, hook: c.base}
		for _, hs := range c.hashes() {
			h++
			cs.rules = append(cs.rules, ruleState{hash: hs, handle: h})
		}
		st.chains[c.name] = cs
	}
	for _, l := range t.limits {
		st.limits[l.name] = l
	}
	return st
}

func known(rs ...*ruleset) knownRules {
	m := map[uint64]*tuple{}
	for _, r := range rs {
		for _, t := range r.tables {
			for _, c := range t.chains {
				for i, h := range c.hashes() {
					m[h] = c.rules[i].tuple
				}
			}
		}
	}
	return knownRules{cur: m}
}

func TestPlanFromNothingThenNothing(t *testing.T) {
	rs := compileUnit(t, unitDesired())
	want := rs.tables["router1"]
	p := diffTable("router1", nil, want, knownRules{})
	assert.Equal(t, want, p.want)
	assert.True(t, p.cutAll, "a newly protected port flushes the namespace's conntrack, as Neutron does")
	assert.Equal(t, "created chain=3 rule=11 table=1", p.rep.String())

	p = diffTable("router1", stateOf(want), want, known(rs))
	assert.True(t, p.empty(), p.rep.String())
	assert.False(t, p.cutAll)
	assert.Empty(t, p.cut)
}

func TestPlanOneRuleChangeAt1000RulesIsO1(t *testing.T) {
	before := compileUnit(t, bigDesired(1000))
	d := bigDesired(1000)
	d.FirewallRules[500].DestinationPort = "9999"
	after := compileUnit(t, d)
	p := diffTable("router1", stateOf(before.tables["router1"]), after.tables["router1"], known(before, after))
	assert.Equal(t, "created rule=1; deleted rule=1", p.rep.String())
	require.Len(t, p.edits, 1)
	e := p.edits[0]
	assert.Len(t, e.del, 1)
	assert.Len(t, e.add, 1)
	assert.NotZero(t, e.before, "inserted before the unchanged tail")
	require.Len(t, p.cut, 1, "the flows of the removed allow rule are cut")
	assert.Equal(t, uint16(1500), p.cut[0].dport.Min)
	assert.False(t, p.cutAll)
}

func TestPlanCutsFlowsOfAddedDenyAndUnknownRemovals(t *testing.T) {
	before := compileUnit(t, bigDesired(3))
	d := bigDesired(3)
	d.FirewallRules[1].Action = "deny"
	after := compileUnit(t, d)
	st := stateOf(before.tables["router1"])

	p := diffTable("router1", st, after.tables["router1"], known(before, after))
	require.Len(t, p.cut, 2, "the removed allow rule and the added deny rule")
	assert.False(t, p.cutAll)

	// A removed rule this process never compiled: cut everything.
	p = diffTable("router1", st, after.tables["router1"], known(after))
	assert.True(t, p.cutAll)
}

func TestPlanRebuildsATableChangedByHand(t *testing.T) {
	rs := compileUnit(t, unitDesired())
	want := rs.tables["router1"]
	st := stateOf(want)
	st.chains[chainForward].base = false // someone recreated it with another hook
	p := diffTable("router1", st, want, known(rs))
	assert.True(t, p.drop)
	assert.Equal(t, want, p.want)

	// A rule deleted by hand is restored alone.
	st = stateOf(want)
	cs := st.chains["ingress-g1"]
	cs.rules = append(cs.rules[:2], cs.rules[3:]...)
	p = diffTable("router1", st, want, known(rs))
	assert.Equal(t, "created rule=1", p.rep.String())

	// A foreign rule inside our chain is removed.
	st = stateOf(want)
	st.chains["egress-g1"].rules = append(st.chains["egress-g1"].rules, ruleState{handle: 99})
	p = diffTable("router1", st, want, known(rs))
	assert.Equal(t, "deleted rule=1", p.rep.String())
	assert.True(t, p.cutAll, "an unknown rule removed: cut everything")
}

func TestPlanDeletesUnwantedTable(t *testing.T) {
	rs := compileUnit(t, unitDesired())
	p := diffTable("router1", stateOf(rs.tables["router1"]), nil, knownRules{})
	assert.True(t, p.drop)
	assert.Nil(t, p.want)
	assert.Equal(t, "deleted table=1", p.rep.String())
	assert.True(t, diffTable("router1", nil, nil, knownRules{}).empty())
}

func TestPlanRateChangeRebuildsTable(t *testing.T) {
	d := unitDesired()
	d.Logs = []Log{{ID: "l", ResourceType: ResourceFirewallGroup}}
	before := compileUnit(t, d)
	after := compileUnit(t, d, WithRateLimit(500, 50))
	p := diffTable("router1", stateOf(before.tables["router1"]), after.tables["router1"], known(before, after))
	assert.True(t, p.drop)
	assert.NotNil(t, p.want)
}
