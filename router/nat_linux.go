package router

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// natState is the router namespace's NAT table as read back.
type natState struct {
	gen    uint32          // the nftables generation it was read at
	table  *nftables.Table // nil: absent
	chains map[string]*nftables.Chain
	rules  map[string][]string // chain -> rule comments, in order
	sets   map[string]*nftables.Set
	elems  map[string]map[netip.Addr]netip.Addr // map name -> key -> value
	pf     map[pfKey]pfVal                      // the port forwarding map
	// scope holds the elements of the scope-mark map and the scope-ok set.
	scope map[string]map[scopeMark]bool
	// snatDerived says elems[snatMap] is not kept: it is the inverse of
	// elems[dnatMap], as in a table this realizer wrote. Diffing then needs
	// one map, not two, on the path of every floating IP change.
	snatDerived bool
}

// natCache is the NAT table as of an nftables generation. The generation
// counts the namespace's nftables commits, so a table read or written at
// generation g is still what the kernel holds while the generation is g.
type natCache struct {
	gen uint32
	st  *natState
}

// readNAT returns the NAT table: the cached one while the generation has not
// moved, else read back (and cached if nothing committed during the read).
func (n *routerNS) readNAT() (*natState, error) {
	c, err := n.h.NFT()
	if err != nil {
		return nil, err
	}
	g, err := c.GetGen()
	if err != nil {
		return nil, nft.Err(err)
	}
	if n.nat != nil && n.nat.gen == g.ID {
		return n.nat.st, nil
	}
	n.nat = nil
	st, err := readNAT(c)
	if err != nil {
		return nil, err
	}
	st.gen = g.ID
	if g2, err := c.GetGen(); err == nil && g2.ID == g.ID {
		n.nat = &natCache{gen: g.ID, st: st}
	}
	return st, nil
}

// readNAT reads the table: one dump each of tables, chains and sets, and one
// of each of our chains' rules and our maps' elements.
func readNAT(c *nftables.Conn) (*natState, error) {
	st := &natState{chains: map[string]*nftables.Chain{}, rules: map[string][]string{},
		sets: map[string]*nftables.Set{}, elems: map[string]map[netip.Addr]netip.Addr{}, scope: map[string]map[scopeMark]bool{}}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, nft.Err(err)
	}
	for _, t := range tables {
		if t.Name == natTable {
			st.table = t
		}
	}
	if st.table == nil {
		return st, nil
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, nft.Err(err)
	}
	for _, ch := range chains {
		if ch.Table.Name != natTable {
			continue
		}
		st.chains[ch.Name] = ch
		rules, err := c.GetRules(st.table, ch)
		if err != nil {
			return nil, nft.Err(err)
		}
		cs := make([]string, 0, len(rules))
		for _, r := range rules {
			s, _ := nft.ParseComment(r.UserData)
			cs = append(cs, s)
		}
		st.rules[ch.Name] = cs
	}
	sets, err := c.GetSets(st.table)
	if err != nil {
		return nil, nft.Err(err)
	}
	for _, s := range sets {
		st.sets[s.Name] = s
		if s.Name == pfMap {
			elems, err := c.GetSetElements(s)
			if err != nil {
				return nil, nft.Err(err)
			}
			st.pf = readPFElements(elems)
			continue
		}
		if s.Name != dnatMap && s.Name != snatMap && s.Name != scopeMarkMap && s.Name != scopeOKSet {
			continue
		}
		elems, err := c.GetSetElements(s)
		if err != nil {
			return nil, nft.Err(err)
		}
		if s.Name == scopeMarkMap || s.Name == scopeOKSet {
			m := make(map[scopeMark]bool, len(elems))
			for _, e := range elems {
				if sm, ok := parseScopeMark(e, s.Name == scopeOKSet); ok {
					m[sm] = true
				}
			}
			st.scope[s.Name] = m
			continue
		}
		m := make(map[netip.Addr]netip.Addr, len(elems))
		for _, e := range elems {
			k, ok1 := netip.AddrFromSlice(e.Key)
			v, ok2 := netip.AddrFromSlice(e.Val)
			if ok1 && ok2 {
				m[k] = v
			}
		}
		st.elems[s.Name] = m
	}
	return st, nil
}

// shapeOK reports whether the table has exactly our sets and base chains
// as we make them; anything else is rebuilt.
func (st *natState) shapeOK(chains []natChain, sets []*nftables.Set) bool {
	if len(st.sets) != len(sets) || len(st.chains) != len(chains) {
		return false
	}
	for _, want := range sets {
		s := st.sets[want.Name]
		if s == nil || s.IsMap != want.IsMap || s.KeyType.Name != want.KeyType.Name ||
			(want.IsMap && s.DataType.Name != want.DataType.Name) {
			return false
		}
	}
	for _, want := range chains {
		ch := st.chains[want.name]
		if ch == nil || ch.Type != want.typ || ch.Hooknum == nil || *ch.Hooknum != *want.hook ||
			ch.Priority == nil || *ch.Priority != *want.prio {
			return false
		}
	}
	return true
}

// tableObjects are the chains and sets of the router's table: NAT when the
// router has an IPv4 gateway address, the address-scope policy when an
// interface is in a scope.
func (rr *routerRun) tableObjects(t *nftables.Table) ([]natChain, []*nftables.Set) {
	var (
		chains []natChain
		sets   []*nftables.Set
	)
	n, sc := rr.spec.NAT, rr.spec.Scope
	if n != nil {
		chains = natChains(n, sc, rr.r.opt.randomFully)
		dnat, snat := natMaps(t)
		sets = append(sets, dnat, snat, pfMapSet(t))
	}
	if sc != nil {
		chains = append(chains, scopeChains(sc, n)...)
		marks, ok := scopeSets(t)
		sets = append(sets, marks, ok)
	}
	chains = append(chains, rr.metadataChains()...)
	return chains, sets
}

// wantElements are the elements of set s as desired.
func (rr *routerRun) wantElements(s *nftables.Set) []nftables.SetElement {
	var out []nftables.SetElement
	switch s.Name {
	case dnatMap, snatMap:
		return elements(wantOf(rr.spec.NAT.FIPs, s.Name))
	case pfMap:
		return pfElements(sortedPF(rr.spec.NAT.PF))
	case scopeMarkMap:
		for _, m := range rr.spec.Scope.Marks {
			out = append(out, m.markElement())
		}
	case scopeOKSet:
		for _, m := range rr.spec.Scope.Marks {
			out = append(out, m.okElement())
		}
	}
	return out
}

// diffNAT plans the NAT table as one transaction: all of it when it is
// missing or misshapen, otherwise only the chains whose rules differ and the
// map elements that differ. A floating IP that moved or went has its flows
// flushed from conntrack afterwards and, when moved, is announced again.
func (rr *routerRun) diffNAT() []change {
	st := rr.obs.nat
	if st == nil {
		st = &natState{}
	}
	gen := st.gen
	n, sc := rr.spec.NAT, rr.spec.Scope
	table := &nftables.Table{Name: natTable, Family: nftables.TableFamilyINet}
	if n == nil && sc == nil && len(rr.metadataChains()) == 0 {
		if st.table == nil {
			return nil
		}
		return []change{{remove, "nft-table", 1, rr.in("inet " + natTable), func() error {
			rr.rns.nat = nil
			c, err := rr.ns.NFT()
			if err != nil {
				return err
			}
			c.DelTable(table)
			return nft.Err(c.Flush())
		}}}
	}
	chains, sets := rr.tableObjects(table)
	var (
		cs    []change
		queue []func(c *nftables.Conn) error
	)
	rebuild := st.table == nil || !st.shapeOK(chains, sets)
	if rebuild {
		v := create
		if st.table != nil {
			v = update
		}
		cs = append(cs, change{v, "nft-table", 1, rr.in("inet " + natTable), nil})
		// st is replaced below: decide now whether the old table goes.
		had := st.table != nil
		queue = append(queue, func(c *nftables.Conn) error {
			if had {
				c.DelTable(table)
			}
			c.AddTable(table)
			byName := make(map[string]*nftables.Set, len(sets))
			for _, s := range sets {
				byName[s.Name] = s
				if err := c.AddSet(s, nil); err != nil {
					return err
				}
				if err := nft.QueueElements(c, s, nil, rr.wantElements(s)); err != nil {
					return err
				}
			}
			for _, ch := range chains {
				chain := c.AddChain(&nftables.Chain{Name: ch.name, Table: table, Type: ch.typ, Hooknum: ch.hook, Priority: ch.prio})
				addRules(c, table, chain, ch.rules, byName)
			}
			return nil
		})
		st = &natState{} // every element is new
	} else {
		for _, ch := range chains {
			comments := make([]string, len(ch.rules))
			for i, r := range ch.rules {
				comments[i] = r.comment
			}
			if slices.Equal(comments, st.rules[ch.name]) {
				continue
			}
			cs = append(cs, change{update, "nft-chain", 1, rr.in(ch.name), nil})
			chain := st.chains[ch.name]
			queue = append(queue, func(c *nftables.Conn) error {
				c.FlushChain(chain)
				addRules(c, table, chain, ch.rules, nil)
				return nil
			})
		}
	}
	var fipDiffs []mapDiff
	if n != nil {
		fipDiffs = diffMaps(st, n.FIPs)
	}
	for _, d := range fipDiffs {
		for _, e := range d.del {
			cs = append(cs, change{remove, "nft-element", 1, rr.in(fmt.Sprintf("%s %s : %s", d.name, e[0], e[1])), nil})
		}
		for _, e := range d.add {
			cs = append(cs, change{create, "nft-element", 1, rr.in(fmt.Sprintf("%s %s : %s", d.name, e[0], e[1])), nil})
		}
		if rebuild || len(d.del)+len(d.add) == 0 {
			continue
		}
		if d.name == dnatMap {
			rr.fipsChanged(d.del)
		}
		set := st.sets[d.name]
		queue = append(queue, func(c *nftables.Conn) error {
			return nft.QueueElements(c, set, pairElements(d.del), pairElements(d.add))
		})
	}
	if n != nil {
		cs, queue = rr.diffPortForwardings(st, n, rebuild, cs, queue)
	}
	if sc != nil {
		cs, queue = rr.diffScope(st, sc, rebuild, cs, queue)
	}
	if len(cs) == 0 {
		return nil
	}
	cs[len(cs)-1].do = func() error {
		rr.rns.nat = nil
		c, err := rr.ns.NFT()
		if err != nil {
			return err
		}
		for _, q := range queue {
			if err := q(c); err != nil {
				return err
			}
		}
		// Commit only onto the table as read: if anything changed it since,
		// the kernel refuses (ERESTART) and the next pass reads it again.
		if err := c.FlushWithGenID(gen); err != nil {
			return nft.Err(err)
		}
		// One commit moves the generation by one: the table at gen+1 is
		// the desired one, unless someone else committed meanwhile, which
		// the next pass sees as another generation.
		after := desiredNAT(table, chains, sets, rr.spec)
		after.gen = gen + 1
		rr.rns.nat = &natCache{gen: after.gen, st: after}
		return nil
	}
	return cs
}

// desiredNAT is the table as diffNAT makes it.
func desiredNAT(t *nftables.Table, chains []natChain, sets []*nftables.Set, spec *routerSpec) *natState {
	st := &natState{table: t, chains: map[string]*nftables.Chain{}, rules: map[string][]string{},
		sets: map[string]*nftables.Set{}, elems: map[string]map[netip.Addr]netip.Addr{}, scope: map[string]map[scopeMark]bool{}}
	for _, s := range sets {
		st.sets[s.Name] = s
	}
	if spec.NAT != nil {
		st.elems[dnatMap], st.snatDerived = spec.NAT.FIPs, true
		st.pf = spec.NAT.PF
	}
	if spec.Scope != nil {
		m := make(map[scopeMark]bool, len(spec.Scope.Marks))
		for _, e := range spec.Scope.Marks {
			m[e] = true
		}
		// Both sets hold the same elements; the cache never changes them.
		st.scope[scopeMarkMap], st.scope[scopeOKSet] = m, m
	}
	for _, ch := range chains {
		st.chains[ch.name] = &nftables.Chain{Name: ch.name, Table: t, Type: ch.typ, Hooknum: ch.hook, Priority: ch.prio}
		for _, r := range ch.rules {
			st.rules[ch.name] = append(st.rules[ch.name], r.comment)
		}
	}
	return st
}

// diffScope adds the element changes of the address-scope sets to the
// pass's transaction. An interface whose mark changes (its subnets moved
// to another scope) has the flows of those subnets deleted from conntrack
// after the commit, so that no flow admitted under the old scope lives on;
// when it is the gateway, the flows of every internal subnet of the family.
func (rr *routerRun) diffScope(st *natState, sc *scopeSpec, rebuild bool, cs []change, queue []func(c *nftables.Conn) error) ([]change, []func(c *nftables.Conn) error) {
	changed := map[scopeKey]bool{}
	for _, name := range []string{scopeMarkMap, scopeOKSet} {
		del, add := diffScopeMarks(st.scope[name], sc.Marks)
		for _, m := range del {
			cs = append(cs, change{remove, "nft-element", 1, rr.in(name + " " + m.String()), nil})
		}
		for _, m := range add {
			cs = append(cs, change{create, "nft-element", 1, rr.in(name + " " + m.String()), nil})
		}
		if rebuild || len(del)+len(add) == 0 {
			continue
		}
		if name == scopeMarkMap {
			for _, m := range del {
				if sc.mark(m.Dev, m.Fam) != 0 {
					changed[m.key()] = true
				}
			}
		}
		set := st.sets[name]
		elem := scopeMark.markElement
		if name == scopeOKSet {
			elem = scopeMark.okElement
		}
		queue = append(queue, func(c *nftables.Conn) error {
			return nft.QueueElements(c, set, mapSlice(del, elem), mapSlice(add, elem))
		})
	}
	for k := range changed {
		for _, i := range rr.spec.Ifaces {
			if i.Gateway || (k.Dev != sc.GatewayDev && i.Name != k.Dev) {
				continue
			}
			for _, p := range i.Subnets {
				if familyOf(p.Addr()) == k.Fam {
					rr.conntrackNets = append(rr.conntrackNets, p)
				}
			}
		}
	}
	return cs, queue
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// fipsChanged records floating IPs removed or moved: their flows are flushed
// from conntrack, and a moved one that stays on the gateway is announced
// again (it may have moved here from another router).
func (rr *routerRun) fipsChanged(del []pair) {
	for _, e := range del {
		fip := e[0]
		rr.conntrack = append(rr.conntrack, fip)
		if _, stays := rr.spec.NAT.FIPs[fip]; stays && rr.spec.Gateway.Up {
			rr.garp[rr.spec.Gateway.Name] = append(rr.garp[rr.spec.Gateway.Name], fip)
		}
	}
}

// pair is a map element: key, value.
type pair [2]netip.Addr

// mapDiff is what one of the two maps needs: elements to delete (as they
// are) and to add.
type mapDiff struct {
	name     string
	del, add []pair
}

// diffMaps compares both maps with the floating IPs fips (floating ->
// fixed). When the snat map is known to be the dnat map's inverse, its
// changes follow from the dnat map's.
func diffMaps(st *natState, fips map[netip.Addr]netip.Addr) []mapDiff {
	dnat := mapDiff{name: dnatMap}
	dnat.del, dnat.add = diffElements(st.elems[dnatMap], fips)
	snat := mapDiff{name: snatMap}
	if st.snatDerived {
		for _, e := range dnat.del {
			snat.del = append(snat.del, pair{e[1], e[0]})
		}
		for _, e := range dnat.add {
			snat.add = append(snat.add, pair{e[1], e[0]})
		}
	} else {
		snat.del, snat.add = diffElements(st.elems[snatMap], invert(fips))
	}
	return []mapDiff{dnat, snat}
}

func wantOf(fips map[netip.Addr]netip.Addr, name string) map[netip.Addr]netip.Addr {
	if name == snatMap {
		return invert(fips)
	}
	return fips
}

func invert(m map[netip.Addr]netip.Addr) map[netip.Addr]netip.Addr {
	out := make(map[netip.Addr]netip.Addr, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// diffElements returns the elements of have to delete (absent from want or
// mapped elsewhere) and of want to add, sorted by key. A changed value is a
// deletion and an addition in the same transaction.
func diffElements(have, want map[netip.Addr]netip.Addr) (del, add []pair) {
	for k, v := range have {
		if w, ok := want[k]; !ok || w != v {
			del = append(del, pair{k, v})
		}
	}
	for k, v := range want {
		if h, ok := have[k]; !ok || h != v {
			add = append(add, pair{k, v})
		}
	}
	byKey := func(a, b pair) int { return a[0].Compare(b[0]) }
	slices.SortFunc(del, byKey)
	slices.SortFunc(add, byKey)
	return del, add
}

func elements(m map[netip.Addr]netip.Addr) []nftables.SetElement {
	ps := make([]pair, 0, len(m))
	for k, v := range m {
		ps = append(ps, pair{k, v})
	}
	slices.SortFunc(ps, func(a, b pair) int { return a[0].Compare(b[0]) })
	return pairElements(ps)
}

func pairElements(ps []pair) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, len(ps))
	for _, p := range ps {
		out = append(out, nftables.SetElement{Key: p[0].AsSlice(), Val: p[1].AsSlice()})
	}
	return out
}
