package secgroup

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Constructors of the matches and statements rules are made of. Each sets
// the loads and comparison the kernel runs and the nft text that renders
// them, in one place, so the two cannot drift apart.

func ifnameIn(setName string, invert bool) match {
	m := match{loads: []load{metaLoad(metaIIFName, ifnameLen)}, op: opIn, set: setName, text: "iifname @" + setName}
	if invert {
		m.op, m.text = opNotIn, "iifname != @"+setName
	}
	return m
}

// markField matches the port-number field of the packet mark.
func markField(mask uint32, op matchOp, value uint32) match {
	m := match{loads: []load{metaLoad(metaMark, markLen)}, mask: markBytes(mask), op: op, value: markBytes(value)}
	sym := "=="
	if op == opNeq {
		sym = "!="
	}
	m.text = fmt.Sprintf("meta mark & 0x%08x %s 0x%08x", mask, sym, value)
	return m
}

func markFieldIn(mask uint32, setName string, invert bool) match {
	m := match{loads: []load{metaLoad(metaMark, markLen)}, mask: markBytes(mask), op: opIn, set: setName}
	m.text = fmt.Sprintf("meta mark & 0x%08x @%s", mask, setName)
	if invert {
		m.op = opNotIn
		m.text = fmt.Sprintf("meta mark & 0x%08x != @%s", mask, setName)
	}
	return m
}

func nfproto(v6 bool) match {
	if v6 {
		return match{loads: []load{metaLoad(metaNFProto, 1)}, op: opEq, value: []byte{nfprotoIPv6}, text: "meta nfproto ipv6"}
	}
	return match{loads: []load{metaLoad(metaNFProto, 1)}, op: opEq, value: []byte{nfprotoIPv4}, text: "meta nfproto ipv4"}
}

// Ethertypes, for bridge-family rules.
const (
	etherIPv4 = 0x0800
	etherARP  = 0x0806
	etherIPv6 = 0x86dd
)

func etherType(t uint16) match {
	name := map[uint16]string{etherIPv4: "ip", etherARP: "arp", etherIPv6: "ip6"}[t]
	return match{loads: []load{metaLoad(metaProtocol, 2)}, op: opEq, value: be16(t), text: "meta protocol " + name}
}

func l4proto(n uint8) match {
	return match{loads: []load{metaLoad(metaL4Proto, 1)}, op: opEq, value: []byte{n}, text: "meta l4proto " + protoName(n)}
}

// protoName is how nft prints protocol n.
func protoName(n uint8) string {
	switch n {
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoDCCP:
		return "dccp"
	case ProtoICMPv6:
		return "ipv6-icmp"
	case ProtoSCTP:
		return "sctp"
	case ProtoUDPLite:
		return "udplite"
	}
	return strconv.Itoa(int(n))
}

// ctStateIn matches packets whose conntrack state is any of bits.
func ctStateIn(bits uint32, text string) match {
	return match{loads: []load{{kind: loadCt, key: ctState, len: 4}}, mask: markBytes(bits), op: opNeq, value: markBytes(0), text: "ct state " + text}
}

// addrOffset is where the source or destination address sits in the IP
// header, and its length.
func addrOffset(v6, dst bool) (off, n uint32) {
	switch {
	case v6 && dst:
		return 24, 16
	case v6:
		return 8, 16
	case dst:
		return 16, 4
	}
	return 12, 4
}

func addrWord(v6, dst bool) string {
	w := "ip"
	if v6 {
		w = "ip6"
	}
	if dst {
		return w + " daddr"
	}
	return w + " saddr"
}

// addrPrefix matches a source or destination prefix.
func addrPrefix(dst bool, p netip.Prefix) match {
	v6 := p.Addr().Is6()
	off, n := addrOffset(v6, dst)
	p = p.Masked()
	m := match{loads: []load{payloadLoad(baseNetwork, off, n)}, op: opEq, value: p.Addr().AsSlice()}
	if p.Bits() < p.Addr().BitLen() {
		m.mask = prefixMask(p.Bits(), int(n))
		m.text = addrWord(v6, dst) + " " + p.String()
	} else {
		m.text = addrWord(v6, dst) + " " + p.Addr().String()
	}
	return m
}

func prefixMask(bits, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return b
}

// addrIn matches a source or destination address in a named address set.
func addrIn(v6, dst bool, setName string) match {
	off, n := addrOffset(v6, dst)
	return match{loads: []load{payloadLoad(baseNetwork, off, n)}, op: opIn, set: setName, text: addrWord(v6, dst) + " @" + setName}
}

// portMatch matches the source or destination port of the transport
// protocol proto (which a preceding l4proto match has established), in
// [lo, hi].
func portMatch(proto uint8, dst bool, lo, hi uint16) match {
	off, word := uint32(0), " sport "
	if dst {
		off, word = 2, " dport "
	}
	m := match{loads: []load{payloadLoad(baseTransport, off, 2)}, value: be16(lo)}
	name := protoName(proto)
	if lo == hi {
		m.op, m.text = opEq, name+word+strconv.Itoa(int(lo))
	} else {
		m.op, m.high, m.text = opRange, be16(hi), fmt.Sprintf("%s%s%d-%d", name, word, lo, hi)
	}
	return m
}

func icmpField(v6, code bool, v uint8) match {
	off, word := uint32(0), " type "
	if code {
		off, word = 1, " code "
	}
	name := "icmp"
	if v6 {
		name = "icmpv6"
	}
	return match{loads: []load{payloadLoad(baseTransport, off, 1)}, op: opEq, value: []byte{v}, text: name + word + strconv.Itoa(int(v))}
}

func icmpv6TypeIn(setName string) match {
	return match{loads: []load{payloadLoad(baseTransport, 0, 1)}, op: opIn, set: setName, text: "icmpv6 type @" + setName}
}

// Bridge-family loads of the anti-spoofing lookups.
var (
	loadIIFName   = metaLoad(metaIIFName, ifnameLen)
	loadEtherSrc  = payloadLoad(baseLL, 6, 6)
	loadARPSHA    = payloadLoad(baseNetwork, 8, 6)
	loadARPSPA    = payloadLoad(baseNetwork, 14, 4)
	loadIPv4Saddr = payloadLoad(baseNetwork, 12, 4)
	loadIPv6Saddr = payloadLoad(baseNetwork, 8, 16)
)

func concatIn(setName, text string, invert bool, loads ...load) match {
	m := match{loads: loads, op: opIn, set: setName, text: text + " @" + setName}
	if invert {
		m.op, m.text = opNotIn, text+" != @"+setName
	}
	return m
}

// Statements.

func verdict(k stmtKind, chain string) stmt { return stmt{kind: k, chain: chain} }

var (
	accept  = stmt{kind: stmtAccept}
	drop    = stmt{kind: stmtDrop}
	notrack = stmt{kind: stmtNotrack}
)

func markVMap(mask uint32, setName string) stmt {
	return stmt{kind: stmtVMap, key: []load{metaLoad(metaMark, markLen)}, mask: markBytes(mask), set: setName,
		text: fmt.Sprintf("meta mark & 0x%08x", mask)}
}

func ifnameVMap(out bool, setName string) stmt {
	key, word := uint32(metaIIFName), "iifname"
	if out {
		key, word = metaOIFName, "oifname"
	}
	return stmt{kind: stmtVMap, key: []load{metaLoad(key, ifnameLen)}, set: setName, text: word}
}

func zoneSet(z uint16) stmt { return stmt{kind: stmtZoneSet, zone: z} }

// setPortMarksKey is the key of the port-marks map: the input device.
var setPortMarksKey = []load{metaLoad(metaIIFName, ifnameLen)}

// markFromMap writes the mark looked up by key in a map.
func markFromMap(key []load, setName string) stmt {
	return stmt{kind: stmtMarkMap, key: key, set: setName, text: "iifname"}
}

// markSet writes value into the mask bits of the mark, keeping the others.
func markSet(mask, value uint32) stmt {
	return stmt{kind: stmtMarkSet, and: ^mask, xor: value & mask}
}
