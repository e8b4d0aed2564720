package router

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nft"
)

// The NAT table of a router namespace. The namespace is the router's alone,
// so the table needs no per-router name.
const (
	natTable = "neutrino-router"
	// dnatMap maps floating IP -> fixed IP, snatMap fixed IP -> floating IP:
	// a floating IP change is an element change, never a rule change.
	dnatMap = "fip-dnat"
	snatMap = "fip-snat"
)

// ipsDstNAT is the conntrack status bit of a DNATed connection
// (IPS_DST_NAT), Neutron's "--ctstate DNAT".
const ipsDstNAT = 1 << 5

// natRule is a rule with the comment that identifies it: the comment spells
// every parameter of the rule, so comparing comments compares rules.
type natRule struct {
	comment string
	exprs   []expr.Any
}

// natChain is a base chain of the router's table.
type natChain struct {
	name  string
	typ   nftables.ChainType
	hook  *nftables.ChainHook
	prio  *nftables.ChainPriority
	rules []natRule
}

// natChains compiles Neutron's legacy-router NAT (router_info.py) into
// nftables, IPv4 only (IPv6 is routed without NAT):
//
//	prerouting, output:  dnat ip to ip daddr map @fip-dnat
//	postrouting:
//	  oifname != qg ct status & dnat == 0 accept    no SNAT between internal networks unless DNATed
//	  snat ip to ip saddr map @fip-snat             floating IPs
//	  oifname qg snat ip to <gw>                    default SNAT, if enable_snat
//	  iifname != qg ct status dnat snat ip to <gw>  hairpin: internal clients of a floating IP
//
// The hairpin rule is Neutron's "-m mark ! --mark 0x2 --ctstate DNAT -j
// SNAT": packets that came in through the gateway carry mark 0x2 there; the
// input interface says the same here without a mangle chain. SNAT picks
// ports fully at random when randomFully is set (Neutron's --random-fully).
//
// An address-scope policy (sc, nil for none) adds, after the floating IPs,
// Neutron's "-o qg -m connmark --mark <scope> -j ACCEPT": IPv4 from the
// gateway's own scope leaves untranslated. Its other chains come from
// scopeChains.
func natChains(n *natSpec, sc *scopeSpec, randomFully bool) []natChain {
	gw := n.GatewayIP.As4()
	fully := ""
	if randomFully {
		fully = " fully-random"
	}
	dnat := natRule{"fip dnat", concat(ipv4(), payload(16), lookup(dnatMap),
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1})}
	post := []natRule{
		{"internal !" + n.GatewayDev, concat(
			ifname(expr.MetaKeyOIFNAME, n.GatewayDev, expr.CmpOpNeq),
			ctDNAT(expr.CmpOpEq),
			[]expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}})},
		{"fip snat" + fully, concat(ipv4(), payload(12), lookup(snatMap),
			&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, FullyRandom: randomFully})},
	}
	post = append(post[:1], append(noSNATRules(n.NoSNAT), post[1:]...)...)
	if sc != nil && sc.NoSNATMark != 0 {
		post = append(post, natRule{fmt.Sprintf("no-snat %s mark %#x", n.GatewayDev, sc.NoSNATMark), concat(ipv4(),
			ifname(expr.MetaKeyOIFNAME, n.GatewayDev, expr.CmpOpEq),
			scopeMarkLoad(1),
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(sc.NoSNATMark)},
			&expr.Verdict{Kind: expr.VerdictAccept})})
	}
	if n.SNAT {
		post = append(post, natRule{fmt.Sprintf("snat %s %s%s", n.GatewayDev, n.GatewayIP, fully), concat(ipv4(),
			ifname(expr.MetaKeyOIFNAME, n.GatewayDev, expr.CmpOpEq),
			snatTo(gw, randomFully))})
	}
	post = append(post, natRule{fmt.Sprintf("hairpin !%s %s%s", n.GatewayDev, n.GatewayIP, fully), concat(ipv4(),
		ifname(expr.MetaKeyIIFNAME, n.GatewayDev, expr.CmpOpNeq),
		ctDNAT(expr.CmpOpNeq),
		snatTo(gw, randomFully))})
	return []natChain{
		{"prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest, []natRule{pfRule(), dnat}},
		{"output", nftables.ChainTypeNAT, nftables.ChainHookOutput, nftables.ChainPriorityNATDest, []natRule{dnat}},
		{"postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource, post},
	}
}

func concat(parts ...any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		switch v := p.(type) {
		case []expr.Any:
			out = append(out, v...)
		case expr.Any:
			out = append(out, v)
		}
	}
	return out
}

// ipv4 matches IPv4 packets: in an inet table, an ip payload match needs it.
func ipv4() []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
	}
}

// payload loads the IPv4 address at offset (12 source, 16 destination).
func payload(offset uint32) []expr.Any {
	return []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4}}
}

// lookup maps register 1 through a map into register 1; no element, no
// match.
func lookup(set string) []expr.Any {
	return []expr.Any{&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: set}}
}

func ifname(key expr.MetaKey, name string, op expr.CmpOp) []expr.Any {
	data := make([]byte, unix.IFNAMSIZ)
	copy(data, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: data},
	}
}

// ctDNAT compares the DNAT bit of the conntrack status: CmpOpEq matches
// connections that were not DNATed, CmpOpNeq those that were.
func ctDNAT(op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: op, Register: 1, Data: make([]byte, 4)},
	}
}

func snatTo(addr [4]byte, randomFully bool) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: addr[:]},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, FullyRandom: randomFully},
	}
}

// natMaps returns the two maps, typed ipv4_addr : ipv4_addr.
func natMaps(t *nftables.Table) (dnat, snat *nftables.Set) {
	mk := func(name string) *nftables.Set {
		return &nftables.Set{Table: t, Name: name, IsMap: true, KeyType: nftables.TypeIPAddr, DataType: nftables.TypeIPAddr}
	}
	return mk(dnatMap), mk(snatMap)
}

// addRules queues a chain's rules, pointing lookups at the maps (by ID when
// they are created in the same transaction).
func addRules(c *nftables.Conn, t *nftables.Table, ch *nftables.Chain, rules []natRule, sets map[string]*nftables.Set) {
	for _, r := range rules {
		for _, e := range r.exprs {
			if l, ok := e.(*expr.Lookup); ok {
				if s := sets[l.SetName]; s != nil {
					l.SetID = s.ID
				}
			}
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: r.exprs, UserData: nft.Comment(r.comment)})
	}
}
