package firewall

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// udataHash is the userdata TLV type carrying a rule's content hash (an
// nft CLI reading the rule shows the comment and skips this type).
const udataHash userdata.Type = 0x4e

func ruleUserData(r *rule) []byte {
	var ud []byte
	if r.comment != "" {
		ud = nft.Comment(r.comment)
	}
	return userdata.Append(ud, udataHash, binary.BigEndian.AppendUint64(nil, r.hash()))
}

func ruleHash(ud []byte) uint64 {
	if b := userdata.Get(ud, udataHash); len(b) == 8 {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func nftTable() *nftables.Table {
	return &nftables.Table{Family: nftables.TableFamilyINet, Name: TableName}
}

func nftChain(t *nftables.Table, c *chain) *nftables.Chain {
	ch := &nftables.Chain{Name: c.name, Table: t}
	if c.base {
		policy := nftables.ChainPolicyAccept
		ch.Type, ch.Hooknum, ch.Priority, ch.Policy = nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter, &policy
	}
	return ch
}

// queue puts the plan's changes on c, to be sent as one transaction. It
// returns the rules it adds per chain, in order: the library fills in
// their handles when the transaction is flushed.
func queue(c *nftables.Conn, p *tablePlan) (map[string][]*nftables.Rule, error) {
	added := map[string][]*nftables.Rule{}
	t := nftTable()
	if p.drop {
		c.DelTable(t)
	}
	if p.want != nil {
		c.AddTable(t)
		for _, l := range p.want.limits {
			c.AddObj(nftLimit(t, l))
		}
		chains := map[string]*nftables.Chain{}
		for _, ch := range p.want.chains {
			chains[ch.name] = c.AddChain(nftChain(t, ch))
		}
		for _, ch := range p.want.chains {
			for i := range ch.rules {
				r, err := nftRule(t, chains[ch.name], &ch.rules[i])
				if err != nil {
					return nil, err
				}
				added[ch.name] = append(added[ch.name], c.AddRule(r))
			}
		}
		return added, nil
	}
	for _, l := range p.addLimits {
		c.AddObj(nftLimit(t, l))
	}
	for _, ch := range p.addChains {
		c.AddChain(nftChain(t, ch))
	}
	for _, ch := range p.addChains {
		nc := &nftables.Chain{Name: ch.name, Table: t}
		for i := range ch.rules {
			r, err := nftRule(t, nc, &ch.rules[i])
			if err != nil {
				return nil, err
			}
			added[ch.name] = append(added[ch.name], c.AddRule(r))
		}
	}
	for _, e := range p.edits {
		nc := &nftables.Chain{Name: e.chain.name, Table: t}
		for _, h := range e.del {
			if err := c.DelRule(&nftables.Rule{Table: t, Chain: nc, Handle: h}); err != nil {
				return nil, err
			}
		}
		for i := range e.add {
			r, err := nftRule(t, nc, &e.add[i])
			if err != nil {
				return nil, err
			}
			if e.before != 0 {
				r.Position = e.before
				r = c.InsertRule(r)
			} else {
				r = c.AddRule(r)
			}
			added[e.chain.name] = append(added[e.chain.name], r)
		}
	}
	for _, name := range p.delChains {
		nc := &nftables.Chain{Name: name, Table: t}
		c.FlushChain(nc)
		c.DelChain(nc)
	}
	for _, name := range p.delLimits {
		c.DeleteObject(&nftables.NamedObj{Table: t, Name: name, Type: nftables.ObjTypeLimit})
	}
	return added, nil
}

// handlesOf reads the handles the kernel gave the added rules.
func handlesOf(added map[string][]*nftables.Rule) map[string][]uint64 {
	out := make(map[string][]uint64, len(added))
	for name, rs := range added {
		for _, r := range rs {
			out[name] = append(out[name], r.Handle)
		}
	}
	return out
}

func nftLimit(t *nftables.Table, l limit) *nftables.NamedObj {
	return &nftables.NamedObj{Table: t, Name: l.name, Type: nftables.ObjTypeLimit,
		Obj: &expr.Limit{Type: expr.LimitTypePkts, Rate: uint64(l.rate), Unit: expr.LimitTimeSecond, Burst: l.burst}}
}

func nftRule(t *nftables.Table, c *nftables.Chain, r *rule) (*nftables.Rule, error) {
	var ex []expr.Any
	for _, tm := range r.terms {
		e, err := lowerTerm(tm)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", r.String(), err)
		}
		ex = append(ex, e...)
	}
	return &nftables.Rule{Table: t, Chain: c, Exprs: ex, UserData: ruleUserData(r)}, nil
}

func lowerTerm(t term) ([]expr.Any, error) {
	switch t.kind {
	case tIIF, tOIF:
		key := expr.MetaKeyIIFNAME
		if t.kind == tOIF {
			key = expr.MetaKeyOIFNAME
		}
		name := make([]byte, unix.IFNAMSIZ)
		copy(name, t.name)
		return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name}}, nil
	case tCtState:
		return []expr.Any{
			&expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, t.num), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
		}, nil
	case tNFProto:
		v := byte(unix.NFPROTO_IPV4)
		if t.num == 6 {
			v = unix.NFPROTO_IPV6
		}
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{v}}}, nil
	case tL4Proto:
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(t.num)}}}, nil
	case tSaddr, tDaddr:
		a := t.prefix.Addr()
		off, n := uint32(12), uint32(4)
		if a.Is6() {
			off, n = 8, 16
		}
		if t.kind == tDaddr {
			off += n
		}
		ex := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}}
		if t.prefix.Bits() < a.BitLen() {
			mask := net.CIDRMask(t.prefix.Bits(), a.BitLen())
			ex = append(ex, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: mask, Xor: make([]byte, n)})
		}
		return append(ex, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()}), nil
	case tSport, tDport:
		off := uint32(0)
		if t.kind == tDport {
			off = 2
		}
		ex := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2}}
		lo := binary.BigEndian.AppendUint16(nil, t.ports.Min)
		if t.ports.Min == t.ports.Max {
			return append(ex, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: lo}), nil
		}
		return append(ex, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: lo,
			ToData: binary.BigEndian.AppendUint16(nil, t.ports.Max)}), nil
	case tICMPv6Type:
		return []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{byte(t.ports.Min)}, ToData: []byte{byte(t.ports.Max)}},
		}, nil
	case tLimit:
		return []expr.Any{&expr.Objref{Type: unix.NFT_OBJECT_LIMIT, Name: t.name}}, nil
	case tLog:
		return []expr.Any{&expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX, Group: uint16(t.num), Data: []byte(t.name)}}, nil
	case tReturn:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictReturn}}, nil
	case tDrop:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}, nil
	case tJump:
		return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: t.name}}, nil
	case tRejectTCP:
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_TCP_RST}}, nil
	case tRejectICMP:
		return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMPX_UNREACH, Code: unix.NFT_REJECT_ICMPX_PORT_UNREACH}}, nil
	}
	return nil, fmt.Errorf("unknown term %d", t.kind)
}
