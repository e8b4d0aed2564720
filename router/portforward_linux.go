package router

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// pfMap maps floating IP . protocol . external port to internal address .
// internal port, one element per forwarded external port: adding or
// removing a forwarding is an element change in the router's table, never a
// rule or chain change, whatever the number of forwardings (Neutron writes
// a chain per forwarding).
const pfMap = "fip-pf"

var (
	pfKeyType = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService)
	pfValType = nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)
)

func pfMapSet(t *nftables.Table) *nftables.Set {
	return &nftables.Set{Table: t, Name: pfMap, IsMap: true, Concatenation: true, KeyType: pfKeyType, DataType: pfValType}
}

// pfRule is Neutron's fip-pf DNAT as one rule:
//
//	dnat ip to ip daddr . meta l4proto . th dport map @fip-pf
//
// The key is built in the 32-bit registers 8, 9 and 10 (register 1 is
// their 16-byte alias), the lookup writes address and port to registers 8
// and 9, and the NAT takes them as address and port. Neutron adds no SNAT:
// replies are translated back by conntrack, and the instance's own
// connections leave through the router's default SNAT.
func pfRule() natRule {
	return natRule{"fip port forwarding", concat(ipv4(), payload(16),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 9},
		&expr.Payload{DestRegister: 10, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		lookup(pfMap),
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 9, Specified: true})}
}

// pfKeyBytes and pfValBytes pad each field to 4 bytes, as concatenations
// are laid out in registers.
func (k pfKey) bytes() []byte {
	b := make([]byte, 12)
	a := k.FIP.As4()
	copy(b, a[:])
	b[4] = k.Proto
	binary.BigEndian.PutUint16(b[8:], k.Port)
	return b
}

func (v pfVal) bytes() []byte {
	b := make([]byte, 8)
	a := v.Addr.As4()
	copy(b, a[:])
	binary.BigEndian.PutUint16(b[4:], v.Port)
	return b
}

func parsePFElement(e nftables.SetElement) (pfKey, pfVal, bool) {
	if len(e.Key) != 12 || len(e.Val) != 8 {
		return pfKey{}, pfVal{}, false
	}
	k := pfKey{netip.AddrFrom4([4]byte(e.Key[:4])), e.Key[4], binary.BigEndian.Uint16(e.Key[8:10])}
	v := pfVal{netip.AddrFrom4([4]byte(e.Val[:4])), binary.BigEndian.Uint16(e.Val[4:6])}
	return k, v, true
}

func readPFElements(elems []nftables.SetElement) map[pfKey]pfVal {
	m := make(map[pfKey]pfVal, len(elems))
	for _, e := range elems {
		if k, v, ok := parsePFElement(e); ok {
			m[k] = v
		}
	}
	return m
}

type pfEntry struct {
	k pfKey
	v pfVal
}

func pfElements(es []pfEntry) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, len(es))
	for _, e := range es {
		out = append(out, nftables.SetElement{Key: e.k.bytes(), Val: e.v.bytes()})
	}
	return out
}

func sortedPF(m map[pfKey]pfVal) []pfEntry {
	out := make([]pfEntry, 0, len(m))
	for k, v := range m {
		out = append(out, pfEntry{k, v})
	}
	slices.SortFunc(out, func(a, b pfEntry) int { return comparePFKey(a.k, b.k) })
	return out
}

func comparePFKey(a, b pfKey) int {
	if c := a.FIP.Compare(b.FIP); c != 0 {
		return c
	}
	if a.Proto != b.Proto {
		return int(a.Proto) - int(b.Proto)
	}
	return int(a.Port) - int(b.Port)
}

// diffPF returns the forwarding elements to delete (gone or leading
// elsewhere) and to add, sorted.
func diffPF(have, want map[pfKey]pfVal) (del, add []pfEntry) {
	for k, v := range have {
		if w, ok := want[k]; !ok || w != v {
			del = append(del, pfEntry{k, v})
		}
	}
	for k, v := range want {
		if h, ok := have[k]; !ok || h != v {
			add = append(add, pfEntry{k, v})
		}
	}
	cmp := func(a, b pfEntry) int { return comparePFKey(a.k, b.k) }
	slices.SortFunc(del, cmp)
	slices.SortFunc(add, cmp)
	return del, add
}

// diffPortForwardings adds the forwarding map's element changes to the NAT
// transaction. A forwarding removed or redirected has its flows deleted
// from conntrack after the commit (Neutron's conntrack -D -d fip -p proto
// --dport port), so that an established flow does not outlive it; flows of
// the floating IP's other ports are left alone.
func (rr *routerRun) diffPortForwardings(st *natState, n *natSpec, rebuild bool, cs []change, queue []func(c *nftables.Conn) error) ([]change, []func(c *nftables.Conn) error) {
	del, add := diffPF(st.pf, n.PF)
	for _, e := range del {
		cs = append(cs, change{remove, "nft-element", 1, rr.in(fmt.Sprintf("%s %s : %s", pfMap, e.k, e.v)), nil})
	}
	for _, e := range add {
		cs = append(cs, change{create, "nft-element", 1, rr.in(fmt.Sprintf("%s %s : %s", pfMap, e.k, e.v)), nil})
	}
	if rebuild || len(del)+len(add) == 0 {
		return cs, queue
	}
	for _, e := range del {
		rr.conntrackPF = append(rr.conntrackPF, e.k)
	}
	set := st.sets[pfMap]
	queue = append(queue, func(c *nftables.Conn) error {
		return nft.QueueElements(c, set, pfElements(del), pfElements(add))
	})
	return cs, queue
}

// cleanPFConntrack deletes the flows of removed forwardings, in the
// background as cleanConntrack does.
func (rr *routerRun) cleanPFConntrack() []change {
	if len(rr.conntrackPF) == 0 {
		return nil
	}
	keys := slices.Clone(rr.conntrackPF)
	slices.SortFunc(keys, comparePFKey)
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.String()
	}
	return []change{{remove, "conntrack", len(keys), rr.in("flows to " + strings.Join(names, ", ")), func() error {
		h, log, where := rr.ns.Netlink(), rr.r.opt.log, rr.where
		clean := func() error {
			n, err := deletePFFlows(h, keys)
			if err != nil {
				return err
			}
			log.Debug("conntrack flows deleted", "namespace", where, "forwardings", names, "flows", n)
			return nil
		}
		if rr.rns.transient {
			return clean()
		}
		rr.r.bg.run(func() {
			if err := clean(); err != nil {
				log.Warn("conntrack cleanup failed", "namespace", where, "forwardings", names, "err", err)
			}
		})
		return nil
	}}}
}

func deletePFFlows(h *netlink.Handle, keys []pfKey) (uint, error) {
	filters := make([]netlink.CustomConntrackFilter, 0, len(keys))
	for _, k := range keys {
		f := &netlink.ConntrackFilter{}
		if err := f.AddIP(netlink.ConntrackOrigDstIP, k.FIP.AsSlice()); err != nil {
			return 0, err
		}
		if err := f.AddProtocol(k.Proto); err != nil {
			return 0, err
		}
		if err := f.AddPort(netlink.ConntrackOrigDstPort, k.Port); err != nil {
			return 0, err
		}
		filters = append(filters, f)
	}
	return h.ConntrackDeleteFilters(netlink.ConntrackTable, unix.AF_INET, filters...)
}
