package secgroup

import (
	"net/netip"
	"sort"
)

// inetBase adds the inet table's fixed sets and base chains: conntrack
// zones and notrack before conntrack, then the egress filter (after
// conntrack, in prerouting) and the ingress filter (in forward), each
// dispatching on the port number in the mark to the port's groups.
func (c *compiler) inetBase(bridges map[string]string, zones map[string]uint16) {
	t, m := c.rs.inet, c.cfg.mask
	names := sortedKeys(bridges)
	br := t.addSet(&set{name: setBridges, key: typeIfname, comment: "network bridges"})
	zm := t.addSet(&set{name: setZones, key: typeIfname, data: typeVerdict, comment: "network bridge -> its conntrack zone"})
	for _, b := range names {
		br.elems = append(br.elems, elem{key: ifnameBytes(b)})
		zm.elems = append(zm.elems, elem{key: ifnameBytes(b), verdict: "goto " + zoneChain(b), comment: zoneComment(bridges[b], zones[b])})
		t.addChain(&chain{name: zoneChain(b), kind: kindBase, rules: []rule{
			{stmts: []stmt{zoneSet(zones[b])}, comment: "network " + bridges[b]},
		}})
	}
	t.addSet(&set{name: setStateless, key: typeMark, comment: "ports of stateless security groups"})
	t.addSet(&set{name: mapEgress, key: typeMark, data: typeVerdict, comment: "port number -> security groups, egress"})
	t.addSet(&set{name: mapIngress, key: typeMark, data: typeVerdict, comment: "port number -> security groups, ingress"})
	t.addSet(constSet(setNDEgress, typeICMPv6Type, ndEgressTypes, "neighbour discovery and MLD, egress"))
	t.addSet(constSet(setNDIngress, typeICMPv6Type, ndIngressTypes, "neighbour discovery, MLD query and RA, ingress"))

	notOurs := rule{matches: []match{ifnameIn(setBridges, true)}, stmts: []stmt{accept}, comment: "not a Neutrino network"}
	t.addChain(&chain{name: chainRaw, hook: &hook{"prerouting", prioRaw}, kind: kindBase, rules: []rule{
		notOurs,
		// accept: a zone set after notrack would track the packet again.
		{matches: []match{markFieldIn(m, setStateless, false)}, stmts: []stmt{notrack, accept}, comment: "from a port of a stateless security group"},
		{stmts: []stmt{ifnameVMap(false, setZones)}, comment: "a conntrack zone per network keeps overlapping addresses apart"},
	}})

	udp := func(v6 bool, sport, dport int, s stmt, comment string) rule {
		ms := []match{nfproto(v6), l4proto(ProtoUDP)}
		if sport > 0 {
			ms = append(ms, portMatch(ProtoUDP, false, uint16(sport), uint16(sport)))
		}
		if dport > 0 {
			ms = append(ms, portMatch(ProtoUDP, true, uint16(dport), uint16(dport)))
		}
		return rule{matches: ms, stmts: []stmt{s}, comment: comment}
	}
	icmp6 := func(x match, s stmt, comment string) rule {
		return rule{matches: []match{nfproto(true), l4proto(ProtoICMPv6), x}, stmts: []stmt{s}, comment: comment}
	}
	t.addChain(&chain{name: chainEgress, hook: &hook{"prerouting", prioEgress}, kind: kindBase, rules: []rule{
		notOurs,
		{matches: []match{markField(m, opEq, 0)}, stmts: []stmt{accept}, comment: "not from a filtered port"},
		udp(false, 67, 0, drop, "no DHCP server on instances"),
		udp(true, 547, 0, drop, "no DHCPv6 server on instances"),
		icmp6(icmpField(true, false, 134), drop, "no router advertisements from instances"),
		{matches: []match{ctStateIn(ctStateEstablished|ctStateRelated, "established,related")}, stmts: []stmt{accept}},
		{matches: []match{ctStateIn(ctStateInvalid, "invalid")}, stmts: []stmt{drop}},
		udp(false, 68, 67, accept, "DHCP client"),
		udp(true, 546, 547, accept, "DHCPv6 client"),
		icmp6(icmpv6TypeIn(setNDEgress), accept, "neighbour discovery, MLD"),
		{stmts: []stmt{markVMap(m, mapEgress)}, comment: "the port's security groups"},
	}})
	eg := t.chainx[chainEgress]
	eg.rules = append(append(eg.rules, c.dropLog(Egress)...), rule{stmts: []stmt{drop}, comment: "egress no security group allows"})
	unmark := func(name string, h hook) {
		t.addChain(&chain{name: name, hook: &h, kind: kindBase, rules: []rule{
			{matches: []match{ifnameIn(setBridges, false)}, stmts: []stmt{markSet(m, 0)}, comment: "port numbers stay inside Neutrino's chains"},
		}})
	}
	unmark(chainEgressUnmark, hook{"prerouting", prioEgress + 1})
	t.addChain(&chain{name: chainIngress, hook: &hook{"forward", prioIngress}, kind: kindBase, rules: []rule{
		notOurs,
		{matches: []match{markField(m, opEq, 0)}, stmts: []stmt{accept}, comment: "not to a filtered port"},
		{matches: []match{ctStateIn(ctStateEstablished|ctStateRelated, "established,related")}, stmts: []stmt{accept}},
		{matches: []match{ctStateIn(ctStateInvalid, "invalid"), markFieldIn(m, setStateless, true)}, stmts: []stmt{drop},
			comment: "stateless ports see untracked replies"},
		icmp6(icmpv6TypeIn(setNDIngress), accept, "neighbour discovery, MLD query, router advertisements"),
		udp(false, 67, 68, accept, "DHCP replies"),
		udp(true, 547, 546, accept, "DHCPv6 replies"),
		{stmts: []stmt{markVMap(m, mapIngress)}, comment: "the port's security groups"},
	}})
	ig := t.chainx[chainIngress]
	ig.rules = append(append(ig.rules, c.dropLog(Ingress)...), rule{stmts: []stmt{drop}, comment: "ingress no security group allows"})
	unmark(chainIngressUnmark, hook{"forward", prioIngress + 1})
}

// bridgeBase adds the bridge table: port numbers into the mark on the way
// in and out, and the anti-spoofing chain every filtered port's frames go
// through, driven by per-port elements of the macs and pairs sets.
func (c *compiler) bridgeBase() {
	t, m := c.rs.bridge, c.cfg.mask
	t.addSet(&set{name: mapPortMarks, key: typeIfname, data: typeMark, comment: "filtered port -> its number in the mark"})
	t.addSet(&set{name: mapPortsOut, key: typeIfname, data: typeVerdict, comment: "filtered port -> its mark"})
	t.addSet(&set{name: setMACs, key: typeIfMAC, comment: "MACs each port may send from"})
	t.addSet(&set{name: setPairs4, key: typeIfMACv4, interval: true, comment: "MAC and IPv4 pairs each port may send from"})
	t.addSet(&set{name: setPairs6, key: typeIfMACv6, interval: true, comment: "MAC and IPv6 pairs each port may send from"})
	t.addSet(constSet(setDAD, typeICMPv6Type, dadTypes, "duplicate address detection and MLD reports"))

	t.addChain(&chain{name: chainPrerouting, hook: &hook{"prerouting", prioBridgePrerouting}, kind: kindBase, rules: []rule{
		// A frame entering from a port carries no mark (veth and tap
		// devices clear it), so the map may write the whole mark.
		{stmts: []stmt{markFromMap(setPortMarksKey, mapPortMarks), verdict(stmtGoto, chainAntispoof)}, comment: "filtered ports: their number, then anti-spoofing"},
		{matches: []match{markField(m, opNeq, 0)}, stmts: []stmt{markSet(m, 0)}, comment: "uplinks and unfiltered ports carry no port number"},
	}})
	t.addChain(&chain{name: chainForward, hook: &hook{"forward", prioBridgeForward}, kind: kindBase, rules: []rule{
		{stmts: []stmt{ifnameVMap(true, mapPortsOut)}},
		{matches: []match{markField(m, opNeq, 0)}, stmts: []stmt{markSet(m, 0)}, comment: "to an uplink or an unfiltered port"},
	}})
	ether := concatIn(setMACs, "iifname . ether saddr", true, loadIIFName, loadEtherSrc)
	t.addChain(&chain{name: chainAntispoof, kind: kindBase, rules: []rule{
		{matches: []match{ether}, stmts: []stmt{drop}, comment: "source MAC not the port's"},
		{matches: []match{etherType(etherARP), concatIn(setPairs4, "iifname . arp saddr ether . arp saddr ip", false, loadIIFName, loadARPSHA, loadARPSPA)},
			stmts: []stmt{accept}, comment: "ARP from the port's addresses"},
		{matches: []match{etherType(etherARP), addrAt(loadARPSPA, "arp saddr ip", netip.IPv4Unspecified()),
			concatIn(setMACs, "iifname . arp saddr ether", false, loadIIFName, loadARPSHA)}, stmts: []stmt{accept}, comment: "ARP probe"},
		{matches: []match{etherType(etherARP)}, stmts: []stmt{drop}, comment: "ARP spoofing"},
		{matches: []match{etherType(etherIPv4), concatIn(setPairs4, "iifname . ether saddr . ip saddr", false, loadIIFName, loadEtherSrc, loadIPv4Saddr)},
			stmts: []stmt{accept}},
		{matches: []match{etherType(etherIPv4), addrPrefix(false, netip.MustParsePrefix("0.0.0.0/32")), addrPrefix(true, netip.MustParsePrefix("255.255.255.255/32")),
			l4proto(ProtoUDP), portMatch(ProtoUDP, false, 68, 68), portMatch(ProtoUDP, true, 67, 67)}, stmts: []stmt{accept}, comment: "DHCP discover"},
		{matches: []match{etherType(etherIPv6), concatIn(setPairs6, "iifname . ether saddr . ip6 saddr", false, loadIIFName, loadEtherSrc, loadIPv6Saddr)},
			stmts: []stmt{accept}},
		{matches: []match{etherType(etherIPv6), addrPrefix(false, netip.MustParsePrefix("::/128")), addrPrefix(true, netip.MustParsePrefix("ff02::/16")),
			l4proto(ProtoICMPv6), icmpv6TypeIn(setDAD)}, stmts: []stmt{accept}, comment: "duplicate address detection"},
		{stmts: []stmt{drop}, comment: "source address not the port's"},
	}})
}

// addrAt compares a loaded address with a.
func addrAt(l load, text string, a netip.Addr) match {
	return match{loads: []load{l}, op: opEq, value: a.AsSlice(), text: text + " " + a.String()}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
