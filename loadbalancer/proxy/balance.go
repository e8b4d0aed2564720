package proxy

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"regexp"
	"slices"
	"sync/atomic"
)

// Spread orders member indexes over sum(weights)/gcd slots in proportion
// to their weights, interleaved by smooth weighted round robin (nginx's),
// so that consecutive picks go to different members. Members of weight 0
// get no slot.
func Spread(weights []int) []int {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	if g == 0 {
		return nil
	}
	total := 0
	w := make([]int, len(weights))
	for i, x := range weights {
		w[i] = x / g
		total += w[i]
	}
	cur := make([]int, len(w))
	out := make([]int, 0, total)
	for range total {
		best := -1
		for i := range w {
			if w[i] == 0 {
				continue
			}
			cur[i] += w[i]
			if best < 0 || cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		out = append(out, best)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// state is a listener's compiled configuration, swapped whole.
type state struct {
	l        *Listener
	pools    map[string]*poolState
	policies []policyState
}

type poolState struct {
	p     *Pool
	slots []int
	byID  map[string]int
	next  atomic.Uint64
	conns []atomic.Int64 // LEAST_CONNECTIONS: open connections per member
}

type policyState struct {
	p     *Policy
	rules []ruleState
}

type ruleState struct {
	r  *Rule
	re *regexp.Regexp
}

// compile builds a listener's state from a deep copy of l: a caller that
// changes its configuration after Set cannot change a state in use.
func compile(in *Listener) (*state, error) {
	l := *in
	l.Pools = make(map[string]*Pool, len(in.Pools))
	for id, p := range in.Pools {
		cp := *p
		cp.Members = slices.Clone(p.Members)
		l.Pools[id] = &cp
	}
	l.Policies = slices.Clone(in.Policies)
	for i := range l.Policies {
		l.Policies[i].Rules = slices.Clone(l.Policies[i].Rules)
	}
	st := &state{l: &l, pools: map[string]*poolState{}}
	for id, p := range l.Pools {
		ps := &poolState{p: p, byID: map[string]int{}, conns: make([]atomic.Int64, len(p.Members))}
		w := make([]int, len(p.Members))
		for i, m := range p.Members {
			w[i] = m.Weight
			ps.byID[m.ID] = i
		}
		ps.slots = Spread(w)
		st.pools[id] = ps
	}
	for i := range l.Policies {
		pol := &l.Policies[i]
		ps := policyState{p: pol}
		for j := range pol.Rules {
			r := &pol.Rules[j]
			rs := ruleState{r: r}
			if r.Compare == "REGEX" {
				re, err := regexp.Compile(r.Value)
				if err != nil {
					return nil, fmt.Errorf("listener %s: l7policy %s: rule %d: %w", l.ID, pol.ID, j, err)
				}
				rs.re = re
			}
			ps.rules = append(ps.rules, rs)
		}
		st.policies = append(st.policies, ps)
	}
	return st, nil
}

// pick chooses a member index (-1 when the pool has none in rotation).
// sticky is the member a persistence cookie named, if any; skip lists
// members that failed a connect for this client.
func (ps *poolState) pick(client netip.Addr, sticky string, skip map[int]bool) int {
	if len(ps.slots) == 0 {
		return -1
	}
	if i, ok := ps.byID[sticky]; ok && sticky != "" && !skip[i] {
		return i
	}
	switch {
	case ps.p.SourceIP:
		h := fnv.New32a()
		b := client.As16()
		_, _ = h.Write(b[:])
		for k := range len(ps.slots) {
			if i := ps.slots[(int(h.Sum32())+k)%len(ps.slots)]; !skip[i] {
				return i
			}
		}
	case ps.p.Algorithm == "LEAST_CONNECTIONS":
		best := -1
		for i, m := range ps.p.Members {
			if skip[i] || m.Weight == 0 {
				continue
			}
			// Compare conns/weight without division.
			if best < 0 || ps.conns[i].Load()*int64(ps.p.Members[best].Weight) < ps.conns[best].Load()*int64(m.Weight) {
				best = i
			}
		}
		return best
	default:
		for range len(ps.slots) {
			if i := ps.slots[ps.next.Add(1)%uint64(len(ps.slots))]; !skip[i] {
				return i
			}
		}
	}
	return -1
}
