package secgroup

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// Lowering of the compiled form to google/nftables objects.

func nfFamily(f family) nftables.TableFamily {
	if f == familyBridge {
		return nftables.TableFamilyBridge
	}
	return nftables.TableFamilyINet
}

func nfTable(f family) *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nfFamily(f)}
}

// udataHash is the userdata TLV type carrying a rule's content hash. nft
// shows only the comment TLV (type 0) and ignores the others; 0x4e is far
// from the types libnftnl defines for rules (0 and 1).
const udataHash userdata.Type = 0x4e

func ruleUserData(r *rule) []byte {
	var ud []byte
	if r.comment != "" {
		ud = nft.Comment(r.comment)
	}
	return userdata.Append(ud, udataHash, binary.BigEndian.AppendUint64(nil, r.hash()))
}

// ruleHash reads the hash ruleUserData stored; 0 if there is none.
func ruleHash(ud []byte) uint64 {
	if b := userdata.Get(ud, udataHash); len(b) == 8 {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

var nfTypes = map[setType]nftables.SetDatatype{
	typeIfname:     nftables.TypeIFName,
	typeMark:       nftables.TypeMark,
	typeIPv4:       nftables.TypeIPAddr,
	typeIPv6:       nftables.TypeIP6Addr,
	typeICMPv6Type: nftables.TypeICMP6Type,
	typeVerdict:    nftables.TypeVerdict,
	typeIfMAC:      nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeEtherAddr),
	typeIfMACv4:    nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeEtherAddr, nftables.TypeIPAddr),
	typeIfMACv6:    nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeEtherAddr, nftables.TypeIP6Addr),
}

func lowerSet(t *nftables.Table, s *set) *nftables.Set {
	ns := &nftables.Set{Table: t, Name: s.name, KeyType: nfTypes[s.key], Interval: s.interval,
		Concatenation: s.key.concatenated(), Comment: s.comment}
	if s.key == typeMark || s.key == typeIfname {
		ns.KeyByteOrder = binaryutil.NativeEndian
	}
	switch s.data {
	case typeVerdict:
		ns.IsMap, ns.DataType = true, nftables.TypeVerdict
	case typeMark:
		ns.IsMap, ns.DataType = true, nftables.TypeMark
	}
	return ns
}

// kernelSpec is set.spec for a set read from the kernel.
func kernelSpec(s *nftables.Set) string {
	dm := uint32(0)
	if s.IsMap {
		dm = s.DataType.GetNFTMagic()
	}
	return specString(s.KeyType.GetNFTMagic(), s.KeyType.Bytes, dm, s.Interval, s.IsMap)
}

// lowerElems returns the kernel elements of es in set s.
func lowerElems(s *set, es []elem) []nftables.SetElement {
	if s.interval && !s.key.concatenated() {
		ivs := make([]nft.Interval, 0, len(es))
		for _, e := range es {
			iv := nft.Interval{}
			iv.Start, _ = netip.AddrFromSlice(e.key)
			if !e.open {
				iv.End, _ = netip.AddrFromSlice(e.end)
			}
			ivs = append(ivs, iv)
		}
		return nft.IntervalElements(ivs)
	}
	out := make([]nftables.SetElement, 0, len(es))
	for _, e := range es {
		ne := nftables.SetElement{Key: e.key, Comment: e.comment}
		if s.interval {
			ne.KeyEnd = e.end
		}
		switch {
		case e.verdict != "":
			kind, chain, _ := strings.Cut(e.verdict, " ")
			v := &expr.Verdict{Kind: expr.VerdictJump, Chain: chain}
			if kind == "goto" {
				v.Kind = expr.VerdictGoto
			}
			ne.VerdictData = v
		case e.data != nil:
			ne.Val = e.data
		}
		out = append(out, ne)
	}
	return out
}

// raiseElems converts kernel elements of set s back to the compiled form.
func raiseElems(s *nftables.Set, kes []nftables.SetElement) ([]elem, error) {
	if s.Interval && !s.Concatenation {
		ivs, err := nft.ElementIntervals(kes)
		if err != nil {
			return nil, err
		}
		return ivElems(ivs), nil
	}
	out := make([]elem, 0, len(kes))
	for _, ke := range kes {
		e := elem{key: ke.Key, comment: ke.Comment}
		if s.Interval {
			e.end = ke.KeyEnd
		}
		if s.IsMap {
			if s.DataType.GetNFTMagic() == nftables.TypeVerdict.GetNFTMagic() {
				e.verdict = parseVerdict(ke.Val)
			} else {
				e.data = ke.Val
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// parseVerdict reads the nested verdict attributes of a verdict map
// element's data ("jump <chain>", "goto <chain>", or "" for others).
func parseVerdict(b []byte) string {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return ""
	}
	ad.ByteOrder = binary.BigEndian
	var code int32
	var chain string
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_VERDICT_CODE:
			code = int32(ad.Uint32())
		case unix.NFTA_VERDICT_CHAIN:
			chain = ad.String()
		}
	}
	switch expr.VerdictKind(code) {
	case expr.VerdictJump:
		return "jump " + chain
	case expr.VerdictGoto:
		return "goto " + chain
	}
	return ""
}

// lowerRule builds the kernel rule of r in chain c.
func lowerRule(t *nftables.Table, c *nftables.Chain, r *rule, sets map[string]*nftables.Set) *nftables.Rule {
	var ex []expr.Any
	for i := range r.matches {
		ex = append(ex, lowerMatch(&r.matches[i], sets)...)
	}
	for i := range r.stmts {
		ex = append(ex, lowerStmt(&r.stmts[i], sets)...)
	}
	return &nftables.Rule{Table: t, Chain: c, Exprs: ex, UserData: ruleUserData(r)}
}

// loadsInto loads ls into registers: one value into NFT_REG_1, a
// concatenation into consecutive 32-bit registers from NFT_REG32_00. It
// returns the register the value (or concatenation) starts at.
func loadsInto(ls []load) ([]expr.Any, uint32) {
	if len(ls) == 1 {
		return []expr.Any{lowerLoad(ls[0], 1)}, 1
	}
	const reg32First = 8
	var out []expr.Any
	reg := uint32(reg32First)
	for _, l := range ls {
		out = append(out, lowerLoad(l, reg))
		reg += regLen(l.len) / 4
	}
	return out, reg32First
}

func lowerLoad(l load, reg uint32) expr.Any {
	switch l.kind {
	case loadPayload:
		return &expr.Payload{DestRegister: reg, Base: expr.PayloadBase(l.base), Offset: l.off, Len: l.len}
	case loadCt:
		return &expr.Ct{Register: reg, Key: expr.CtKey(l.key)}
	}
	return &expr.Meta{Key: expr.MetaKey(l.key), Register: reg}
}

func lowerMatch(m *match, sets map[string]*nftables.Set) []expr.Any {
	ex, reg := loadsInto(m.loads)
	if m.mask != nil {
		ex = append(ex, &expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: uint32(len(m.mask)),
			Mask: m.mask, Xor: make([]byte, len(m.mask))})
	}
	switch m.op {
	case opEq, opNeq:
		op := expr.CmpOpEq
		if m.op == opNeq {
			op = expr.CmpOpNeq
		}
		ex = append(ex, &expr.Cmp{Op: op, Register: reg, Data: m.value})
	case opRange:
		ex = append(ex, &expr.Range{Op: expr.CmpOpEq, Register: reg, FromData: m.value, ToData: m.high})
	case opIn, opNotIn:
		ex = append(ex, lookup(reg, m.set, sets, m.op == opNotIn))
	}
	return ex
}

func lookup(reg uint32, name string, sets map[string]*nftables.Set, invert bool) *expr.Lookup {
	l := &expr.Lookup{SourceRegister: reg, SetName: name, Invert: invert}
	if s := sets[name]; s != nil {
		l.SetID = s.ID
	}
	return l
}

func lowerStmt(s *stmt, sets map[string]*nftables.Set) []expr.Any {
	switch s.kind {
	case stmtAccept:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}
	case stmtDrop:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
	case stmtJump:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: s.chain}}
	case stmtGoto:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictGoto, Chain: s.chain}}
	case stmtNotrack:
		return []expr.Any{&expr.Notrack{}}
	case stmtLimit:
		return []expr.Any{&expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(s.rate), Unit: expr.LimitTimeSecond, Burst: s.burst}}
	case stmtLog:
		return []expr.Any{&expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX, Group: s.group, Data: []byte(s.prefix)}}
	case stmtVMap:
		ex, reg := loadsInto(s.key)
		if s.mask != nil {
			ex = append(ex, &expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: uint32(len(s.mask)),
				Mask: s.mask, Xor: make([]byte, len(s.mask))})
		}
		l := lookup(reg, s.set, sets, false)
		l.IsDestRegSet, l.DestRegister = true, 0
		return append(ex, l)
	case stmtZoneSet:
		return []expr.Any{
			&expr.Immediate{Register: 1, Data: zoneBytes(s.zone)},
			&expr.Ct{Key: expr.CtKeyZONE, Register: 1, SourceRegister: true},
		}
	case stmtMarkMap:
		ex, reg := loadsInto(s.key)
		l := lookup(reg, s.set, sets, false)
		l.IsDestRegSet, l.DestRegister = true, 1
		// The map holds marks in network byte order, which nft (lacking
		// the data byte order the library cannot write) prints right.
		return append(ex, l, &expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderNtoh, Len: markLen, Size: markLen},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1})
	case stmtMarkSet:
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: markLen, Mask: markBytes(s.and), Xor: markBytes(s.xor)},
			&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
		}
	}
	return nil
}

func lowerChain(t *nftables.Table, c *chain) *nftables.Chain {
	nc := &nftables.Chain{Name: c.name, Table: t}
	if c.hook != nil {
		nc.Type = nftables.ChainTypeFilter
		switch c.hook.name {
		case "prerouting":
			nc.Hooknum = nftables.ChainHookPrerouting
		case "forward":
			nc.Hooknum = nftables.ChainHookForward
		}
		nc.Priority = nftables.ChainPriorityRef(nftables.ChainPriority(c.hook.priority))
		accept := nftables.ChainPolicyAccept
		nc.Policy = &accept
	}
	return nc
}

// raiseHook is the hook of a chain read from the kernel (nil: a regular
// chain). A base chain with another policy than accept does not match.
func raiseHook(c *nftables.Chain) *hook {
	if c.Hooknum == nil {
		return nil
	}
	h := &hook{name: "?"}
	switch *c.Hooknum {
	case *nftables.ChainHookPrerouting:
		h.name = "prerouting"
	case *nftables.ChainHookForward:
		h.name = "forward"
	}
	if c.Priority != nil {
		h.priority = int(*c.Priority)
	}
	if c.Policy != nil && *c.Policy != nftables.ChainPolicyAccept || c.Type != nftables.ChainTypeFilter {
		h.name += "!"
	}
	return h
}
