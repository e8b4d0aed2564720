package secgroup

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

// Rule constructors for tests.

func intp(v int) *int { return &v }

func sgRule(dir, ethertype, proto string, lo, hi *int) Rule {
	return Rule{Direction: dir, Ethertype: ethertype, Protocol: Protocol(proto), PortRangeMin: lo, PortRangeMax: hi}
}

func ports(proto string, lo, hi int) Rule { return sgRule(Ingress, IPv4, proto, intp(lo), intp(hi)) }
func ports6(proto string, lo, hi int) Rule {
	return sgRule(Ingress, IPv6, proto, intp(lo), intp(hi))
}
func icmpRule(ethertype, proto string, typ, code *int) Rule {
	return sgRule(Ingress, ethertype, proto, typ, code)
}
func fromPrefix(r Rule, p string) Rule { r.RemoteIPPrefix = netip.MustParsePrefix(p); return r }
func fromGroup(r Rule, g string) Rule  { r.RemoteGroupID = g; return r }
func fromAG(r Rule, ag string) Rule    { r.RemoteAddressGroupID = ag; return r }
func egress(r Rule) Rule               { r.Direction = Egress; return r }

func anyOut() []Rule {
	return []Rule{sgRule(Egress, IPv4, "", nil, nil), sgRule(Egress, IPv6, "", nil, nil)}
}

func group(id string, stateful bool, rules ...Rule) SecurityGroup {
	g := SecurityGroup{ID: id, Stateful: &stateful}
	for i, r := range rules {
		r.ID = fmt.Sprintf("%s-r%d", id, i)
		g.Rules = append(g.Rules, r)
	}
	return g
}

var (
	ipA, ipB, ipC    = netip.MustParseAddr("100.64.1.10"), netip.MustParseAddr("100.64.1.20"), netip.MustParseAddr("100.64.1.30")
	ip6A, ip6B, ip6C = netip.MustParseAddr("2001:db8:1::10"), netip.MustParseAddr("2001:db8:1::20"), netip.MustParseAddr("2001:db8:1::30")
)

func newTrio(t *testing.T) (*world, port.Port, port.Port, port.Port) {
	w := newWorld(t)
	a := mkPort("aaaaaaaa-0000-4000-8000-000000000001", "net1", "fa:16:3e:00:00:01", []string{"ga"}, ipA.String(), ip6A.String())
	b := mkPort("bbbbbbbb-0000-4000-8000-000000000002", "net1", "fa:16:3e:00:00:02", []string{"gb"}, ipB.String(), ip6B.String())
	c := mkPort("cccccccc-0000-4000-8000-000000000003", "net1", "fa:16:3e:00:00:03", []string{"gc"}, ipC.String(), ip6C.String())
	for _, p := range []port.Port{a, b, c} {
		w.plug(p, cidrs(p)...)
	}
	return w, a, b, c
}

// TestSecurityGroupMatrix applies one policy per case to instance B's group
// (or A's, for egress) and sends one kind of packet, asserting it is
// delivered or dropped.
func TestSecurityGroupMatrix(t *testing.T) {
	w, a, b, c := newTrio(t)
	ag := AddressGroup{ID: "ag1", Addresses: []netip.Prefix{netip.MustParsePrefix("100.64.1.8/29"), netip.MustParsePrefix("2001:db8:1::10/128")}}

	type probe struct {
		proto     string // tcp, udp, icmp
		from      string // a or c
		v6        bool
		port      int
		typ, code uint8
	}
	tcp4 := func(port int) probe { return probe{proto: "tcp", from: "a", port: port} }
	tcp6 := func(port int) probe { return probe{proto: "tcp", from: "a", port: port, v6: true} }
	udp4 := func(port int) probe { return probe{proto: "udp", from: "a", port: port} }
	udp6 := func(port int) probe { return probe{proto: "udp", from: "a", port: port, v6: true} }
	icmp4 := func(typ, code uint8) probe { return probe{proto: "icmp", from: "a", typ: typ, code: code} }
	icmp6 := func(typ, code uint8) probe { return probe{proto: "icmp", from: "a", typ: typ, code: code, v6: true} }
	fromC := func(p probe) probe { p.from = "c"; return p }

	cases := []struct {
		name       string
		gb         []Rule // B's group
		gbStateful bool
		ga         []Rule // A's group; nil: egress to anywhere
		p          probe
		want       bool
	}{
		{"no rule: tcp dropped", nil, true, nil, tcp4(80), false},
		{"no rule: icmp dropped", nil, true, nil, icmp4(8, 0), false},
		{"tcp 80: tcp 80 delivered", []Rule{ports("tcp", 80, 80)}, true, nil, tcp4(80), true},
		{"tcp 80: tcp 81 dropped", []Rule{ports("tcp", 80, 80)}, true, nil, tcp4(81), false},
		{"tcp 80 IPv4: tcp6 80 dropped", []Rule{ports("tcp", 80, 80)}, true, nil, tcp6(80), false},
		{"tcp 80 IPv6: tcp6 80 delivered", []Rule{ports6("tcp", 80, 80)}, true, nil, tcp6(80), true},
		{"tcp 80: udp 80 dropped", []Rule{ports("tcp", 80, 80)}, true, nil, udp4(80), false},
		{"tcp 1000-2000: 1000 delivered", []Rule{ports("tcp", 1000, 2000)}, true, nil, tcp4(1000), true},
		{"tcp 1000-2000: 2000 delivered", []Rule{ports("tcp", 1000, 2000)}, true, nil, tcp4(2000), true},
		{"tcp 1000-2000: 999 dropped", []Rule{ports("tcp", 1000, 2000)}, true, nil, tcp4(999), false},
		{"tcp 1000-2000: 2001 dropped", []Rule{ports("tcp", 1000, 2000)}, true, nil, tcp4(2001), false},
		{"tcp 1-65535: any port delivered", []Rule{ports("tcp", 1, 65535)}, true, nil, tcp4(4242), true},
		{"protocol 6: tcp delivered", []Rule{ports("6", 80, 80)}, true, nil, tcp4(80), true},
		{"udp 5353: delivered", []Rule{ports("udp", 5353, 5353)}, true, nil, udp4(5353), true},
		{"udp 5353: 5354 dropped", []Rule{ports("udp", 5353, 5353)}, true, nil, udp4(5354), false},
		{"udp 5353 IPv6: udp6 delivered", []Rule{ports6("udp", 5353, 5353)}, true, nil, udp6(5353), true},
		{"protocol any IPv4: udp delivered", []Rule{sgRule(Ingress, IPv4, "any", nil, nil)}, true, nil, udp4(7), true},
		{"protocol any IPv4: udp6 dropped", []Rule{sgRule(Ingress, IPv4, "", nil, nil)}, true, nil, udp6(7), false},
		{"icmp: echo delivered", []Rule{icmpRule(IPv4, "icmp", nil, nil)}, true, nil, icmp4(8, 0), true},
		{"icmp type 8: echo delivered", []Rule{icmpRule(IPv4, "icmp", intp(8), nil)}, true, nil, icmp4(8, 0), true},
		{"icmp type 8 code 0: echo delivered", []Rule{icmpRule(IPv4, "icmp", intp(8), intp(0))}, true, nil, icmp4(8, 0), true},
		{"icmp type 8 code 1: echo code 0 dropped", []Rule{icmpRule(IPv4, "icmp", intp(8), intp(1))}, true, nil, icmp4(8, 0), false},
		{"icmp type 8 code 1: echo code 1 delivered", []Rule{icmpRule(IPv4, "icmp", intp(8), intp(1))}, true, nil, icmp4(8, 1), true},
		{"icmp type 13: echo dropped", []Rule{icmpRule(IPv4, "icmp", intp(13), nil)}, true, nil, icmp4(8, 0), false},
		{"icmp type 13: timestamp delivered", []Rule{icmpRule(IPv4, "icmp", intp(13), nil)}, true, nil, icmp4(13, 0), true},
		{"ipv6-icmp type 128: echo6 delivered", []Rule{icmpRule(IPv6, "ipv6-icmp", intp(128), nil)}, true, nil, icmp6(128, 0), true},
		{"ipv6-icmp type 129: echo6 dropped", []Rule{icmpRule(IPv6, "ipv6-icmp", intp(129), nil)}, true, nil, icmp6(128, 0), false},
		{"icmp with IPv6 means ipv6-icmp: echo6 delivered", []Rule{icmpRule(IPv6, "icmp", nil, nil)}, true, nil, icmp6(128, 0), true},
		{"icmp IPv4: echo6 dropped", []Rule{icmpRule(IPv4, "icmp", nil, nil)}, true, nil, icmp6(128, 0), false},
		{"remote prefix /28: A delivered", []Rule{fromPrefix(ports("tcp", 80, 80), "100.64.1.0/28")}, true, nil, tcp4(80), true},
		{"remote prefix /28: C dropped", []Rule{fromPrefix(ports("tcp", 80, 80), "100.64.1.0/28")}, true, nil, fromC(tcp4(80)), false},
		{"remote prefix IPv6 /128: A delivered", []Rule{fromPrefix(ports6("tcp", 80, 80), "2001:db8:1::10/128")}, true, nil, tcp6(80), true},
		{"remote prefix IPv6 /128: C dropped", []Rule{fromPrefix(ports6("tcp", 80, 80), "2001:db8:1::10/128")}, true, nil, fromC(tcp6(80)), false},
		{"remote prefix 0.0.0.0/0: C delivered", []Rule{fromPrefix(ports("udp", 53, 53), "0.0.0.0/0")}, true, nil, fromC(udp4(53)), true},
		{"remote group: member A delivered", []Rule{fromGroup(ports("tcp", 80, 80), "ga")}, true, nil, tcp4(80), true},
		{"remote group: non-member C dropped", []Rule{fromGroup(ports("tcp", 80, 80), "ga")}, true, nil, fromC(tcp4(80)), false},
		{"remote group IPv6: member A delivered", []Rule{fromGroup(ports6("tcp", 80, 80), "ga")}, true, nil, tcp6(80), true},
		{"remote group IPv6: non-member C dropped", []Rule{fromGroup(ports6("tcp", 80, 80), "ga")}, true, nil, fromC(tcp6(80)), false},
		{"address group: A delivered", []Rule{fromAG(ports("udp", 53, 53), "ag1")}, true, nil, udp4(53), true},
		{"address group: C dropped", []Rule{fromAG(ports("udp", 53, 53), "ag1")}, true, nil, fromC(udp4(53)), false},
		{"address group IPv6: A delivered", []Rule{fromAG(ports6("udp", 53, 53), "ag1")}, true, nil, udp6(53), true},
		{"address group IPv6: C dropped", []Rule{fromAG(ports6("udp", 53, 53), "ag1")}, true, nil, fromC(udp6(53)), false},
		{"egress tcp 80 only: 80 delivered", []Rule{ports("tcp", 1, 65535)}, true, []Rule{egress(ports("tcp", 80, 80))}, tcp4(80), true},
		{"egress tcp 80 only: 81 dropped", []Rule{ports("tcp", 1, 65535)}, true, []Rule{egress(ports("tcp", 80, 80))}, tcp4(81), false},
		{"egress to B's /32: delivered", []Rule{ports("udp", 1, 65535)}, true, []Rule{fromPrefix(egress(ports("udp", 1, 65535)), "100.64.1.20/32")}, udp4(99), true},
		{"egress to C's /32: B dropped", []Rule{ports("udp", 1, 65535)}, true, []Rule{fromPrefix(egress(ports("udp", 1, 65535)), "100.64.1.30/32")}, udp4(99), false},
		{"egress none: icmp dropped", []Rule{icmpRule(IPv4, "icmp", nil, nil)}, true, []Rule{ports("tcp", 22, 22)}, icmp4(8, 0), false},
		{"stateful without egress rules: replies pass", []Rule{ports("tcp", 80, 80)}, true, nil, tcp4(80), true},
		{"stateless without egress rules: replies dropped", []Rule{ports("tcp", 80, 80)}, false,
			append(anyOut(), fromGroup(ports("tcp", 1, 65535), "gb")), tcp4(80), false},
		{"stateless with egress rules: tcp delivered", append([]Rule{ports("tcp", 80, 80)}, anyOut()...), false,
			append(anyOut(), fromGroup(ports("tcp", 1, 65535), "gb")), tcp4(80), true},
		{"stateless: udp delivered", []Rule{ports("udp", 53, 53)}, false, nil, udp4(53), true},
		{"stateless IPv6: udp6 delivered", []Rule{ports6("udp", 53, 53)}, false, nil, udp6(53), true},
	}
	vms := map[string]*namespace.Handle{"a": w.vms[a.ID], "c": w.vms[c.ID]}
	vb := w.vms[b.ID]
	for _, tc := range cases {
		ga := tc.ga
		if ga == nil {
			ga = anyOut()
		}
		d := Desired{
			Groups: []SecurityGroup{group("ga", true, ga...), group("gb", tc.gbStateful, tc.gb...),
				group("gc", true, anyOut()...)},
			AddressGroups: []AddressGroup{ag},
			Ports:         []port.Port{a, b, c},
		}
		w.apply(d)
		from := vms[tc.p.from]
		dst := ipB
		if tc.p.v6 {
			dst = ip6B
		}
		var got bool
		switch tc.p.proto {
		case "tcp":
			got = tcpProbe(t, from, vb, dst, tc.p.port)
		case "udp":
			got = udpProbe(t, from, vb, netip.Addr{}, dst, 0, tc.p.port)
		case "icmp":
			got = icmpProbe(t, from, vb, dst, tc.p.typ, tc.p.code)
		}
		if got != tc.want {
			t.Errorf("%s: delivered=%t, want %t", tc.name, got, tc.want)
		}
	}
	if len(cases) < 30 {
		t.Fatalf("the matrix has %d cases, want at least 30", len(cases))
	}
}
