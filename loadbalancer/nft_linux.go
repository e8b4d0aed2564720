package loadbalancer

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// Names in the load balancer's own nftables table.
const (
	TableName      = "neutrino-lb"
	chainPre       = "prerouting"
	chainPost      = "postrouting"
	setListeners   = "listeners"
	listenerPrefix = "l-" // chain of a kernel-balanced listener
	mapPrefix      = "m-" // its slot map
)

// ctStatusDNAT is IPS_DST_NAT: the flow was DNATed by us.
const ctStatusDNAT = 0x20

var table = &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}

// nftState is what the table holds, read back once per pass.
type nftState struct {
	table  bool
	chains map[string]*nftables.Chain
	sets   map[string]*nftables.Set
	elems  map[string][]nftables.SetElement
	rules  map[string][]*nftables.Rule
}

func readNFT(c *nftables.Conn) (*nftState, error) {
	st := &nftState{chains: map[string]*nftables.Chain{}, sets: map[string]*nftables.Set{},
		elems: map[string][]nftables.SetElement{}, rules: map[string][]*nftables.Rule{}}
	if c == nil {
		return st, nil
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, nft.Err(err)
	}
	for _, t := range tables {
		st.table = st.table || t.Name == TableName
	}
	if !st.table {
		return st, nil
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, nft.Err(err)
	}
	for _, ch := range chains {
		if ch.Table.Name != TableName {
			continue
		}
		st.chains[ch.Name] = ch
		rules, err := c.GetRules(table, ch)
		if err != nil {
			return nil, nft.Err(err)
		}
		st.rules[ch.Name] = rules
	}
	sets, err := c.GetSets(table)
	if err != nil {
		return nil, nft.Err(err)
	}
	for _, s := range sets {
		st.sets[s.Name] = s
		els, err := c.GetSetElements(s)
		if err != nil {
			return nil, nft.Err(err)
		}
		st.elems[s.Name] = els
	}
	return st, nil
}

// nftPlan is the difference for one table: lines for the report and one
// function that queues it all, committed by a single Flush.
type nftPlan struct {
	lines []planLine
	queue []func(c *nftables.Conn) error
}

type planLine struct {
	verb, kind string
	n          int
	what       string
}

func (p *nftPlan) add(verb, kind string, n int, what string, q func(c *nftables.Conn) error) {
	p.lines = append(p.lines, planLine{verb, kind, n, what})
	p.queue = append(p.queue, q)
}

func (p *nftPlan) empty() bool { return len(p.queue) == 0 }

// commit queues every change and flushes them as one transaction: packets
// see the old balancing or the new, never a mix.
func (p *nftPlan) commit(c *nftables.Conn) error {
	for _, q := range p.queue {
		if err := q(c); err != nil {
			return err
		}
	}
	return nft.Err(c.Flush())
}

func vmapKey(proto uint8, port uint16) []byte {
	return []byte{proto, 0, 0, 0, byte(port >> 8), byte(port), 0, 0}
}

func slotKey(i int) []byte { return binaryutil.NativeEndian.PutUint32(uint32(i)) }

func slotVal(ap netip.AddrPort) []byte {
	a := ap.Addr().As4()
	return []byte{a[0], a[1], a[2], a[3], byte(ap.Port() >> 8), byte(ap.Port()), 0, 0}
}

// ruleComment identifies a listener rule's shape: what decides it is
// rewritten. Rules are compared by this comment, not expression by
// expression.
func ruleComment(l *l4Spec) string {
	if l.Hash {
		return "jhash " + strconv.Itoa(len(l.Slots)) + " " + strconv.FormatUint(uint64(l.Seed), 16)
	}
	return "numgen " + strconv.Itoa(len(l.Slots))
}

func comments(rules []*nftables.Rule) []string {
	var out []string
	for _, r := range rules {
		c, _ := nft.ParseComment(r.UserData)
		out = append(out, c)
	}
	return out
}

// planNFT diffs the table against the spec.
func planNFT(s *spec, obs *nftState) *nftPlan {
	p := &nftPlan{}
	if !obs.table {
		p.add("create", "nft-table", 1, "inet "+TableName, func(c *nftables.Conn) error { c.AddTable(table); return nil })
	}
	sets := map[string]*nftables.Set{}
	for name, st := range obs.sets {
		sets[name] = st
	}
	ensureSet := func(want *nftables.Set) *nftables.Set {
		if got := obs.sets[want.Name]; got != nil {
			return got
		}
		sets[want.Name] = want
		p.add("create", "nft-set", 1, want.Name, func(c *nftables.Conn) error { return c.AddSet(want, nil) })
		return want
	}
	ensureChain := func(want *nftables.Chain) *nftables.Chain {
		if got := obs.chains[want.Name]; got != nil {
			return got
		}
		p.add("create", "nft-chain", 1, want.Name, func(c *nftables.Conn) error { c.AddChain(want); return nil })
		return want
	}
	vmap := ensureSet(&nftables.Set{Table: table, Name: setListeners, IsMap: true,
		KeyType: nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService), DataType: nftables.TypeVerdict})
	pre := ensureChain(&nftables.Chain{Table: table, Name: chainPre, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
	post := ensureChain(&nftables.Chain{Table: table, Name: chainPost, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})

	// Listener chains and maps.
	wantVmap := map[string]nftables.SetElement{}
	wantChains := map[string]bool{}
	for i := range s.L4 {
		l := &s.L4[i]
		chainName, mapName := listenerPrefix+l.ListenerID, mapPrefix+l.ListenerID
		wantChains[chainName] = true
		m := ensureSet(&nftables.Set{Table: table, Name: mapName, IsMap: true, KeyType: nftables.TypeInteger,
			KeyByteOrder: binaryutil.NativeEndian,
			DataType:     nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)})
		ch := ensureChain(&nftables.Chain{Table: table, Name: chainName})
		planSlots(p, l, m, obs.elems[mapName])
		want := []string{}
		if len(l.Slots) > 0 {
			want = append(want, ruleComment(l))
		}
		if got := comments(obs.rules[chainName]); !slices.Equal(got, want) || obs.chains[chainName] == nil && len(want) > 0 {
			verb := "update"
			if obs.chains[chainName] == nil {
				verb = "create"
			}
			p.add(verb, "nft-rule", 1, chainName+": "+fmt.Sprint(want), func(c *nftables.Conn) error {
				if obs.chains[chainName] != nil {
					c.FlushChain(ch)
				}
				if len(l.Slots) > 0 {
					c.AddRule(&nftables.Rule{Table: table, Chain: ch, Exprs: dnatExprs(l, m), UserData: nft.Comment(ruleComment(l))})
				}
				return nil
			})
		}
		k := string(vmapKey(l.Proto, l.Port))
		wantVmap[k] = nftables.SetElement{Key: vmapKey(l.Proto, l.Port), VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: chainName}}
	}
	planVmap(p, vmap, wantVmap, obs.elems[setListeners])

	vipRule := "vip " + s.VIP.Addr().String()
	if got := comments(obs.rules[chainPre]); !slices.Equal(got, []string{vipRule}) {
		p.add(verbFor(len(obs.rules[chainPre])), "nft-rule", 1, chainPre+": "+vipRule, func(c *nftables.Conn) error {
			if obs.chains[chainPre] != nil {
				c.FlushChain(pre)
			}
			c.AddRule(&nftables.Rule{Table: table, Chain: pre, Exprs: dispatchExprs(s.VIP.Addr(), vmap), UserData: nft.Comment(vipRule)})
			return nil
		})
	}
	if got := comments(obs.rules[chainPost]); !slices.Equal(got, []string{"masquerade dnat"}) {
		p.add(verbFor(len(obs.rules[chainPost])), "nft-rule", 1, chainPost+": masquerade dnat", func(c *nftables.Conn) error {
			if obs.chains[chainPost] != nil {
				c.FlushChain(post)
			}
			c.AddRule(&nftables.Rule{Table: table, Chain: post, Exprs: masqExprs(), UserData: nft.Comment("masquerade dnat")})
			return nil
		})
	}
	// Stale listeners last: the verdict-map elements that jump to them are
	// deleted above in the same transaction, then their chains (emptied
	// first: the kernel refuses to delete a chain with rules) and maps.
	for _, name := range sortedKeys(obs.chains) {
		if len(name) <= len(listenerPrefix) || name[:len(listenerPrefix)] != listenerPrefix || wantChains[name] {
			continue
		}
		ch := obs.chains[name]
		p.add("delete", "nft-chain", 1, name, func(c *nftables.Conn) error {
			c.FlushChain(ch)
			c.DelChain(ch)
			return nil
		})
	}
	for _, name := range sortedKeys(obs.sets) {
		if len(name) <= len(mapPrefix) || name[:len(mapPrefix)] != mapPrefix || wantChains[listenerPrefix+name[len(mapPrefix):]] {
			continue
		}
		st := obs.sets[name]
		p.add("delete", "nft-set", 1, name, func(c *nftables.Conn) error { c.DelSet(st); return nil })
	}
	return p
}

func verbFor(existing int) string {
	if existing == 0 {
		return "create"
	}
	return "update"
}

// planSlots diffs a listener's slot map: a slot whose member changed is
// deleted and re-added in the same transaction.
func planSlots(p *nftPlan, l *l4Spec, m *nftables.Set, have []nftables.SetElement) {
	got := map[uint32][]byte{}
	for _, e := range have {
		if len(e.Key) == 4 {
			got[binary.NativeEndian.Uint32(e.Key)] = e.Val
		}
	}
	var del, add []nftables.SetElement
	for i, ap := range l.Slots {
		v := slotVal(ap)
		if old, ok := got[uint32(i)]; ok {
			delete(got, uint32(i))
			if string(old) == string(v) {
				continue
			}
			del = append(del, nftables.SetElement{Key: slotKey(i)})
		}
		add = append(add, nftables.SetElement{Key: slotKey(i), Val: v})
	}
	for k := range got {
		del = append(del, nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(k)})
	}
	if len(del) > 0 {
		p.add("delete", "nft-element", len(del), fmt.Sprintf("%d from %s", len(del), m.Name), func(c *nftables.Conn) error {
			return nft.QueueElements(c, m, del, nil)
		})
	}
	if len(add) > 0 {
		p.add("create", "nft-element", len(add), fmt.Sprintf("%d to %s", len(add), m.Name), func(c *nftables.Conn) error {
			return nft.QueueElements(c, m, nil, add)
		})
	}
}

func planVmap(p *nftPlan, vmap *nftables.Set, want map[string]nftables.SetElement, have []nftables.SetElement) {
	var del, add []nftables.SetElement
	got := map[string]bool{}
	for _, e := range have {
		w, ok := want[string(e.Key)]
		if kind, chain, vok := verdictOf(e); ok && vok && w.VerdictData.Chain == chain && w.VerdictData.Kind == kind {
			got[string(e.Key)] = true
			continue
		}
		del = append(del, nftables.SetElement{Key: e.Key})
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if !got[k] {
			add = append(add, want[k])
		}
	}
	if len(del) > 0 {
		p.add("delete", "nft-element", len(del), fmt.Sprintf("%d from %s", len(del), setListeners), func(c *nftables.Conn) error {
			return nft.QueueElements(c, vmap, del, nil)
		})
	}
	if len(add) > 0 {
		p.add("create", "nft-element", len(add), fmt.Sprintf("%d to %s", len(add), setListeners), func(c *nftables.Conn) error {
			return nft.QueueElements(c, vmap, nil, add)
		})
	}
}

// verdictOf reads a verdict-map element's verdict. The library decodes it
// only when it knows the set is a verdict map; read back from GetSets it
// leaves the nested NFTA_VERDICT_* attributes in Val.
func verdictOf(e nftables.SetElement) (expr.VerdictKind, string, bool) {
	if e.VerdictData != nil {
		return e.VerdictData.Kind, e.VerdictData.Chain, true
	}
	ad, err := netlink.NewAttributeDecoder(e.Val)
	if err != nil {
		return 0, "", false
	}
	var (
		kind  expr.VerdictKind
		chain string
		found bool
	)
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_VERDICT_CODE:
			ad.ByteOrder = binary.BigEndian
			kind, found = expr.VerdictKind(int32(ad.Uint32())), true
		case unix.NFTA_VERDICT_CHAIN:
			chain = ad.String()
		}
	}
	return kind, chain, found && ad.Err() == nil
}

func lookup(src, dst uint32, s *nftables.Set) *expr.Lookup {
	return &expr.Lookup{SourceRegister: src, DestRegister: dst, IsDestRegSet: true, SetName: s.Name, SetID: s.ID}
}

// dispatchExprs: meta nfproto ipv4 ip daddr VIP meta l4proto . th dport vmap @listeners
func dispatchExprs(vip netip.Addr, vmap *nftables.Set) []expr.Any {
	a := vip.As4()
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Payload{DestRegister: 9, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		lookup(1, 0, vmap),
	}
}

// dnatExprs: dnat ip to numgen inc mod N map @m, or jhash ip saddr mod N
// seed S map @m; the map's data is address . port, landing in registers 1
// and 9.
func dnatExprs(l *l4Spec, m *nftables.Set) []expr.Any {
	var out []expr.Any
	n := uint32(len(l.Slots))
	if l.Hash {
		out = append(out,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Hash{SourceRegister: 1, DestRegister: 1, Length: 4, Modulus: n, Seed: l.Seed, Type: expr.HashTypeJenkins})
	} else {
		out = append(out, &expr.Numgen{Register: 1, Modulus: n, Type: unix.NFT_NG_INCREMENTAL})
	}
	return append(out,
		lookup(1, 1, m),
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 9, Specified: true},
	)
}

// masqExprs: ct status dnat masquerade — replies from members come back
// through the load balancer.
func masqExprs() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ctStatusDNAT), Xor: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Masq{},
	}
}
