package router

import (
	"bytes"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The address-scope objects of the router's table (scopeSpec realized):
//
//	map scope-mark { ifname . nf_proto : mark }       interface, family -> its scope's mark
//	set scope-ok   { ifname . nf_proto . mark }       the same, as a set: where each mark may leave
//	chain scope (filter, prerouting, mangle priority):
//	  meta mark set iifname . meta nfproto map @scope-mark
//	chain forward (filter, forward, filter priority):
//	  ct state established,related accept
//	  ct status dnat accept                                   floating IPs cross scopes
//	  oifname qg ip saddr map @fip-snat accept                  … both ways
//	  meta nfproto ipv4 oifname qg accept                     SNAT crosses scopes (enable_snat)
//	  oifname . meta nfproto . meta mark & 0xffff0000 != @scope-ok drop
//
// An interface, or a subnet changing scope, is two element changes, never
// a rule change. The established rule lets replies through as Neutron's
// connmark restore does; flows of a subnet whose scope changes are
// deleted from conntrack (scopeFlows), so none outlives the policy.
const (
	scopeMarkMap = "scope-mark"
	scopeOKSet   = "scope-ok"
)

// scopeMarkMask selects the scope's half of the packet mark.
const scopeMarkMask = 0xffff0000

// Registers of the concatenations: an interface name fills four 32-bit
// registers (NFT_REG32_00..03), the family and the mark one each.
const (
	regIfname = 8
	regProto  = 12
	regMark   = 13
)

// scopeSets returns the two sets of the address-scope policy.
func scopeSets(t *nftables.Table) (marks, ok *nftables.Set) {
	key, _ := nftables.ConcatSetType(nftables.TypeIFName, nftables.TypeNFProto)
	okKey, _ := nftables.ConcatSetType(nftables.TypeIFName, nftables.TypeNFProto, nftables.TypeMark)
	marks = &nftables.Set{Table: t, Name: scopeMarkMap, IsMap: true, Concatenation: true, KeyType: key, DataType: nftables.TypeMark}
	ok = &nftables.Set{Table: t, Name: scopeOKSet, Concatenation: true, KeyType: okKey}
	return marks, ok
}

// scopeChains compiles the policy's chains; n is the router's NAT (nil
// without an IPv4 gateway address).
func scopeChains(sc *scopeSpec, n *natSpec) []natChain {
	mark := natRule{"scope mark", concat(ifaceFamily(expr.MetaKeyIIFNAME),
		&expr.Lookup{SourceRegister: regIfname, SetName: scopeMarkMap, DestRegister: 1, IsDestRegSet: true},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1})}
	fwd := []natRule{
		{"established", concat(
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			&expr.Verdict{Kind: expr.VerdictAccept})},
		{"dnat", concat(ctDNAT(expr.CmpOpNeq), &expr.Verdict{Kind: expr.VerdictAccept})},
	}
	if n != nil {
		// A floating IP's own traffic leaves translated, whatever the scopes
		// (Neutron marks it with the external scope in float-snat).
		fwd = append(fwd, natRule{"fip " + n.GatewayDev, concat(ipv4(),
			ifname(expr.MetaKeyOIFNAME, n.GatewayDev, expr.CmpOpEq),
			payload(12),
			// Membership only: the kernel allows a lookup without a
			// destination register in a named map.
			&expr.Lookup{SourceRegister: 1, SetName: snatMap},
			&expr.Verdict{Kind: expr.VerdictAccept})})
	}
	if sc.SNATCrosses {
		fwd = append(fwd, natRule{"snat crosses " + sc.GatewayDev, concat(ipv4(),
			ifname(expr.MetaKeyOIFNAME, sc.GatewayDev, expr.CmpOpEq),
			&expr.Verdict{Kind: expr.VerdictAccept})})
	}
	fwd = append(fwd, natRule{"scope", concat(ifaceFamily(expr.MetaKeyOIFNAME),
		scopeMarkLoad(regMark),
		&expr.Lookup{SourceRegister: regIfname, SetName: scopeOKSet, Invert: true},
		&expr.Verdict{Kind: expr.VerdictDrop})})
	return []natChain{
		{"scope", nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityMangle, []natRule{mark}},
		{"forward", nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter, fwd},
	}
}

// ifaceFamily loads an interface name and the packet's family into the
// registers of a concatenation.
func ifaceFamily(key expr.MetaKey) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: regIfname},
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: regProto},
	}
}

// scopeMarkLoad loads the scope's half of the packet mark into reg.
func scopeMarkLoad(reg uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: reg},
		&expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(scopeMarkMask), Xor: make([]byte, 4)},
	}
}

// scopeKey is a key of the scope-mark map: an interface and a family.
type scopeKey struct {
	Dev string
	Fam int
}

func (m scopeMark) key() scopeKey { return scopeKey{m.Dev, m.Fam} }

func (m scopeMark) String() string {
	f := "ipv4"
	if m.Fam == famV6 {
		f = "ipv6"
	}
	return fmt.Sprintf("%s . %s : %#x", m.Dev, f, m.Mark)
}

var nfproto = [2]byte{famV4: unix.NFPROTO_IPV4, famV6: unix.NFPROTO_IPV6}

// keyBytes is the interface name (IFNAMSIZ, NUL-padded) and the family
// padded to a register.
func (k scopeKey) keyBytes() []byte {
	b := make([]byte, unix.IFNAMSIZ+4)
	copy(b, k.Dev)
	b[unix.IFNAMSIZ] = nfproto[k.Fam]
	return b
}

// markElement is m as an element of the scope-mark map.
func (m scopeMark) markElement() nftables.SetElement {
	return nftables.SetElement{Key: m.key().keyBytes(), Val: binaryutil.NativeEndian.PutUint32(m.Mark)}
}

// okElement is m as an element of the scope-ok set.
func (m scopeMark) okElement() nftables.SetElement {
	return nftables.SetElement{Key: append(m.key().keyBytes(), binaryutil.NativeEndian.PutUint32(m.Mark)...)}
}

// parseScopeKey reads a key written by keyBytes.
func parseScopeKey(b []byte) (scopeKey, bool) {
	if len(b) < unix.IFNAMSIZ+4 {
		return scopeKey{}, false
	}
	k := scopeKey{Dev: string(bytes.TrimRight(b[:unix.IFNAMSIZ], "\x00"))}
	switch b[unix.IFNAMSIZ] {
	case unix.NFPROTO_IPV4:
		k.Fam = famV4
	case unix.NFPROTO_IPV6:
		k.Fam = famV6
	default:
		return scopeKey{}, false
	}
	return k, true
}

// parseScopeMark reads an element of either set back.
func parseScopeMark(e nftables.SetElement, ok bool) (scopeMark, bool) {
	k, good := parseScopeKey(e.Key)
	if !good {
		return scopeMark{}, false
	}
	v := e.Val
	if ok {
		v = e.Key[min(len(e.Key), unix.IFNAMSIZ+4):]
	}
	if len(v) != 4 {
		return scopeMark{}, false
	}
	return scopeMark{Dev: k.Dev, Fam: k.Fam, Mark: binaryutil.NativeEndian.Uint32(v)}, true
}

// diffScopeMarks returns the elements of have to delete and of want to add,
// in want's order. A mark that changes is a deletion and an addition in one
// transaction.
func diffScopeMarks(have map[scopeMark]bool, want []scopeMark) (del, add []scopeMark) {
	keep := make(map[scopeMark]bool, len(want))
	for _, m := range want {
		keep[m] = true
		if !have[m] {
			add = append(add, m)
		}
	}
	for m := range have {
		if !keep[m] {
			del = append(del, m)
		}
	}
	sortMarks(del)
	return del, add
}
