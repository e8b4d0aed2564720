package qos

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nft"
	"github.com/neutrino-net/neutrino/internal/nl"
)

var table = &nftables.Table{Name: tableName, Family: nftables.TableFamilyBridge}

const chainName = "forward"

// observe reads the root qdisc of every tap device (one dump of the
// namespace's links and one of its qdiscs, however many ports) and the
// table's rules.
func (r *Realizer) observe(w *want) (*observed, error) {
	o := &observed{links: map[string]int{}, qdiscs: map[string]rootQdisc{}, rules: map[string]uint64{}}
	h := r.host.Netlink()
	links, err := nl.Dump(h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	byIndex := map[int]string{}
	for _, l := range links {
		name := l.Attrs().Name
		if w.ports[name] == nil && !strings.HasPrefix(name, naming.PrefixTap) {
			continue
		}
		o.links[name], byIndex[l.Attrs().Index] = l.Attrs().Index, name
		o.qdiscs[name] = rootQdisc{Absent: true}
	}
	qs, err := nl.Dump(func() ([]netlink.Qdisc, error) { return h.QdiscList(nil) })
	if err != nil {
		return nil, fmt.Errorf("list qdiscs: %w", err)
	}
	for _, x := range qs {
		a := x.Attrs()
		name, ok := byIndex[a.LinkIndex]
		if !ok || a.Parent != netlink.HANDLE_ROOT || x.Type() == "noqueue" {
			continue
		}
		q := rootQdisc{Kind: x.Type(), Major: uint16(a.Handle >> 16)}
		if t, ok := x.(*netlink.Tbf); ok {
			q.Rate, q.Limit, q.Burst = t.Rate, t.Limit, netlink.Xmitsize(t.Rate, t.Buffer)
		}
		o.qdiscs[name] = q
	}
	c, err := r.host.NFT()
	if err != nil {
		return nil, err
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyBridge)
	if err != nil {
		return nil, nft.Err(err)
	}
	for _, t := range tables {
		o.table = o.table || t.Name == tableName
	}
	if !o.table {
		return o, nil
	}
	rules, err := c.GetRules(table, &nftables.Chain{Name: chainName, Table: table})
	if err != nil && !errors.Is(nft.Err(err), unix.ENOENT) {
		return nil, nft.Err(err)
	}
	for _, ru := range rules {
		if s, ok := nft.ParseComment(ru.UserData); ok {
			o.rules[s] = ru.Handle
		}
	}
	return o, nil
}

// executor runs one operation, each its own netlink request or nftables
// commit.
func (r *Realizer) executor(o *observed) func(op) error {
	h := r.host.Netlink()
	return func(x op) error {
		switch x := x.(type) {
		case opSetTbf:
			idx, ok := o.links[x.dev]
			if !ok {
				return fmt.Errorf("device %s does not exist", x.dev)
			}
			q := &netlink.Tbf{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: idx, Handle: netlink.MakeHandle(qdiscHandle, 0), Parent: netlink.HANDLE_ROOT},
				Rate: x.tbf.Rate, Limit: x.tbf.Limit, Buffer: netlink.Xmittime(x.tbf.Rate, x.tbf.Burst)}
			return h.QdiscReplace(q)
		case opDelTbf:
			q := &netlink.Tbf{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: o.links[x.dev], Handle: netlink.MakeHandle(qdiscHandle, 0), Parent: netlink.HANDLE_ROOT}}
			return h.QdiscDel(q)
		}
		c, err := r.host.NFT()
		if err != nil {
			return err
		}
		switch x := x.(type) {
		case opTable:
			if x.del {
				c.DelTable(table)
				break
			}
			c.AddTable(table)
			accept := nftables.ChainPolicyAccept
			c.AddChain(&nftables.Chain{Name: chainName, Table: table, Type: nftables.ChainTypeFilter,
				Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
		case opDelRule:
			if err := c.DelRule(&nftables.Rule{Table: table, Chain: &nftables.Chain{Name: chainName, Table: table}, Handle: x.handle}); err != nil {
				return err
			}
		case opAddRule:
			c.AddRule(&nftables.Rule{Table: table, Chain: &nftables.Chain{Name: chainName, Table: table}, Exprs: x.r.exprs(), UserData: nft.Comment(x.r.comment())})
		}
		return nft.Err(c.Flush())
	}
}

// exprs compiles a rule:
//
//	police: iifname <dev> limit rate over <rate> bytes/second burst <b> bytes drop
//	dscp:   iifname <dev> meta protocol ip  ip dscp set <n>
//	        iifname <dev> meta protocol ip6 ip6 dscp set <n>
func (r rule) exprs() []expr.Any {
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, r.Dev)
	out := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name},
	}
	proto := func(ethertype uint16) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(ethertype)},
		}
	}
	switch r.Kind {
	case rulePolice:
		return append(out,
			&expr.Limit{Type: expr.LimitTypePktBytes, Rate: r.Rate, Over: true, Unit: expr.LimitTimeSecond, Burst: r.Burst},
			&expr.Verdict{Kind: expr.VerdictDrop})
	case ruleDSCP4:
		// The TOS byte: DSCP in its top six bits, ECN kept. It is written
		// as the 16-bit word it shares with version and header length, as
		// nft does: the checksum (offset 10) is updated a word at a time,
		// and a one-byte write at an odd offset would corrupt it.
		return append(append(out, proto(unix.ETH_P_IP)...),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 0, Len: 2},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 2, Mask: []byte{0xff, 0x03}, Xor: []byte{0, byte(r.DSCP << 2)}},
			&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 0, Len: 2,
				CsumType: expr.CsumTypeInet, CsumOffset: 10})
	default:
		// The traffic class straddles the first two bytes: version (4
		// bits), DSCP (6), ECN (2), flow label.
		mask, xor := make([]byte, 2), make([]byte, 2)
		binary.BigEndian.PutUint16(mask, 0xf03f)
		binary.BigEndian.PutUint16(xor, uint16(r.DSCP)<<6)
		return append(append(out, proto(unix.ETH_P_IPV6)...),
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 0, Len: 2},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 2, Mask: mask, Xor: xor},
			&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 0, Len: 2})
	}
}
