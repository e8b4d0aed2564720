package secgroup

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

func unitPort(id, network, mac string, groups []string, ips ...string) port.Port {
	p := port.Port{ID: id, NetworkID: network, MACAddress: port.MustParseMAC(mac), DeviceOwner: "compute:nova", SecurityGroups: groups}
	for _, ip := range ips {
		p.FixedIPs = append(p.FixedIPs, port.FixedIP{IPAddress: netip.MustParseAddr(ip)})
	}
	return p
}

func mustCompile(t *testing.T, d Desired, prev numbers, opts ...Option) (*ruleset, numbers) {
	t.Helper()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		t.Fatal(err)
	}
	rs, nums, err := compile(&d, cfg, prev)
	if err != nil {
		t.Fatal(err)
	}
	return rs, nums
}

func chainText(t *testing.T, tb *table, name string) []string {
	t.Helper()
	c := tb.chainx[name]
	if c == nil {
		t.Fatalf("no chain %s", name)
	}
	var out []string
	for i := range c.rules {
		out = append(out, c.rules[i].String())
	}
	return out
}

func uintp(v int) *int { return &v }

// TestRulesCompileToNeutronSemantics pins the rendering of each kind of
// Neutron rule.
func TestRulesCompileToNeutronSemantics(t *testing.T) {
	rule := func(id, dir, eth, proto string, lo, hi *int) Rule {
		return Rule{ID: id, Direction: dir, Ethertype: eth, Protocol: Protocol(proto), PortRangeMin: lo, PortRangeMax: hi}
	}
	withPrefix := func(r Rule, p string) Rule { r.RemoteIPPrefix = netip.MustParsePrefix(p); return r }
	withGroup := func(r Rule, g string) Rule { r.RemoteGroupID = g; return r }
	withAG := func(r Rule, a string) Rule { r.RemoteAddressGroupID = a; return r }
	g := SecurityGroup{ID: "g", Rules: []Rule{
		rule("r1", Ingress, IPv4, "tcp", uintp(22), uintp(22)),
		rule("r2", Ingress, IPv4, "udp", uintp(1000), uintp(2000)),
		rule("r3", Ingress, IPv4, "tcp", uintp(1), uintp(65535)),
		rule("r4", Ingress, IPv4, "icmp", uintp(8), uintp(0)),
		rule("r5", Ingress, IPv6, "icmp", uintp(128), nil),
		rule("r6", Ingress, IPv4, "", nil, nil),
		rule("r7", Ingress, IPv4, "0", nil, nil),
		withPrefix(rule("r8", Ingress, IPv4, "sctp", uintp(9), uintp(9)), "198.51.100.7/24"), // host bits: the network it names
		withPrefix(rule("r9", Ingress, IPv6, "any", nil, nil), "::/0"),
		withGroup(rule("r10", Ingress, IPv6, "tcp", uintp(80), uintp(80)), "g"),
		withAG(rule("r11", Egress, IPv4, "udp", uintp(53), uintp(53)), "ag"),
		rule("r12", Egress, IPv4, "47", nil, nil),
	}}
	d := Desired{Groups: []SecurityGroup{g}, AddressGroups: []AddressGroup{{ID: "ag", Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/25"), netip.MustParsePrefix("192.0.2.128/25")}}},
		Ports: []port.Port{unitPort("p1", "n1", "fa:16:3e:00:00:01", []string{"g"}, "100.64.0.5", "2001:db8::5")}}
	rs, _ := mustCompile(t, d, numbers{})
	want := []string{
		`meta nfproto ipv4 meta l4proto tcp tcp dport 22 accept comment "sg g rule r1"`,
		`meta nfproto ipv4 meta l4proto udp udp dport 1000-2000 accept comment "sg g rule r2"`,
		`meta nfproto ipv4 meta l4proto tcp accept comment "sg g rule r3"`,
		`meta nfproto ipv4 meta l4proto icmp icmp type 8 icmp code 0 accept comment "sg g rule r4"`,
		`meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 128 accept comment "sg g rule r5"`,
		`meta nfproto ipv4 accept comment "sg g rule r6"`,
		`meta nfproto ipv4 accept comment "sg g rule r7"`, // protocol 0 is any, as in the iptables driver
		`meta nfproto ipv4 ip saddr 198.51.100.0/24 meta l4proto sctp sctp dport 9 accept comment "sg g rule r8"`,
		`meta nfproto ipv6 accept comment "sg g rule r9"`,
		`meta nfproto ipv6 ip6 saddr @rg-g-v6 meta l4proto tcp tcp dport 80 accept comment "sg g rule r10"`,
	}
	if got := chainText(t, rs.inet, "sg-g-ingress"); !slices.Equal(got, want) {
		t.Errorf("ingress chain:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantOut := []string{
		`meta nfproto ipv4 ip daddr @ag-ag-v4 meta l4proto udp udp dport 53 accept comment "sg g rule r11"`,
		`meta nfproto ipv4 meta l4proto 47 accept comment "sg g rule r12"`,
	}
	if got := chainText(t, rs.inet, "sg-g-egress"); !slices.Equal(got, wantOut) {
		t.Errorf("egress chain:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantOut, "\n"))
	}
	// The address group's two halves are merged into one interval.
	if s := rs.inet.setx["ag-ag-v4"]; s == nil || len(s.elems) != 1 || !s.interval {
		t.Errorf("address group set: %+v", s)
	}
	// The remote group holds its members' addresses of the family.
	if s := rs.inet.setx["rg-g-v6"]; s == nil || len(s.elems) != 1 || !s.elems[0].contains(netip.MustParseAddr("2001:db8::5")) {
		t.Errorf("remote group set: %+v", s)
	}
	if _, ok := rs.inet.setx["rg-g-v4"]; ok {
		t.Error("a member set no rule references was created")
	}
}

// TestPortSecurityElements: a port's anti-spoofing is elements of shared
// sets, its identity a number in the mark; unfiltered ports have neither.
func TestPortSecurityElements(t *testing.T) {
	p := unitPort("p1", "n1", "fa:16:3e:00:00:01", []string{"g"}, "100.64.0.5", "2001:db8::5")
	p.AllowedAddressPairs = []port.AddressPair{
		{IPAddress: netip.MustParsePrefix("100.64.0.0/28")},
		{IPAddress: netip.MustParsePrefix("100.64.0.99/32"), MACAddress: port.MustParseMAC("fa:16:3e:00:00:99")},
	}
	off := false
	noSec := unitPort("p2", "n1", "fa:16:3e:00:00:02", nil, "100.64.0.6")
	noSec.PortSecurityEnabled = &off
	dhcp := unitPort("p3", "n1", "fa:16:3e:00:00:03", nil, "100.64.0.2")
	dhcp.DeviceOwner = port.OwnerDHCP
	rs, nums := mustCompile(t, Desired{Groups: []SecurityGroup{DefaultGroup("g")}, Ports: []port.Port{p, noSec, dhcp}}, numbers{})

	if len(nums.ports) != 1 || nums.ports["tapp1"] != 1 {
		t.Errorf("port numbers %v, want only tapp1 numbered", nums.ports)
	}
	b := rs.bridge
	if got := len(b.setx[setMACs].elems); got != 2 {
		t.Errorf("macs: %d elements, want the port's MAC and the pair's", got)
	}
	// 100.64.0.5 lies in the pair's /28, so the port MAC's IPv4 pairs merge
	// into one interval; the other MAC has its own.
	if got := len(b.setx[setPairs4].elems); got != 2 {
		t.Errorf("pairs4: %d elements, want 2", got)
	}
	// The fixed IPv6 address and the link-local address of each MAC.
	if got := len(b.setx[setPairs6].elems); got != 3 {
		t.Errorf("pairs6: %d elements, want 3", got)
	}
	lla := linkLocal(p.MACAddress.HardwareAddr())
	if lla.String() != "fe80::f816:3eff:fe00:1" {
		t.Errorf("link-local address %s", lla)
	}
	found := false
	for _, e := range b.setx[setPairs6].elems {
		found = found || strings.HasSuffix(string(e.key), string(lla.AsSlice()))
	}
	if !found {
		t.Error("the link-local address is not an allowed source")
	}
	if m := b.setx[mapPortMarks]; len(m.elems) != 1 || string(m.elems[0].data) != string(be32(0x00010000)) {
		t.Errorf("port-marks: %+v, want only p1 with number 1 (unfiltered ports are not in the maps)", m.elems)
	}
	if got := chainText(t, b, "to-tapp1"); len(got) != 1 || !strings.Contains(got[0], "| 0x00010000") {
		t.Errorf("to chain: %v", got)
	}
	if _, ok := b.chainx["to-tapp2"]; ok {
		t.Error("a port without port security has a chain")
	}
	if got := len(rs.inet.setx[setBridges].elems); got != 1 {
		t.Errorf("bridges: %d, want the one network", got)
	}
}

func TestNumbersAndZonesAreKept(t *testing.T) {
	g := DefaultGroup("g")
	ps := []port.Port{unitPort("p1", "n1", "fa:16:3e:00:00:01", []string{"g"}, "100.64.0.5"),
		unitPort("p2", "n2", "fa:16:3e:00:00:02", []string{"g"}, "100.64.0.6")}
	_, first := mustCompile(t, Desired{Groups: []SecurityGroup{g}, Ports: ps}, numbers{})
	// p0 sorts first, but p1 and p2 keep their numbers; p0 gets a free one.
	ps = append(ps, unitPort("p0", "n1", "fa:16:3e:00:00:03", []string{"g"}, "100.64.0.7"))
	_, second := mustCompile(t, Desired{Groups: []SecurityGroup{g}, Ports: ps}, first)
	if second.ports["tapp1"] != first.ports["tapp1"] || second.ports["tapp2"] != first.ports["tapp2"] || second.ports["tapp0"] != 3 {
		t.Errorf("numbers %v then %v", first.ports, second.ports)
	}
	for b, z := range first.zones {
		if second.zones[b] != z || z < zoneFirst {
			t.Errorf("zone of %s: %d then %d", b, z, second.zones[b])
		}
	}
	// A zone is derived from the network, so a node that lost its tables
	// gets the same zones again.
	_, fresh := mustCompile(t, Desired{Groups: []SecurityGroup{g}, Ports: ps}, numbers{})
	if !mapsEqual(fresh.zones, first.zones) {
		t.Errorf("zones from scratch %v, before %v", fresh.zones, first.zones)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestZonesProbePastCollisions(t *testing.T) {
	prev := map[string]uint16{"brqa": 5000}
	z := assignZones(map[string]string{"brqa": "a", "brqb": "b"}, prev)
	if z["brqa"] != 5000 || z["brqb"] == 5000 || z["brqb"] < zoneFirst {
		t.Errorf("zones %v", z)
	}
}

func TestPortNumbersRunOut(t *testing.T) {
	taps := []string{"a", "b", "c"}
	if _, err := assignPorts(taps, nil, 2); !errors.Is(err, errdefs.ErrExhausted) {
		t.Errorf("3 ports, 2 numbers: %v", err)
	}
}

func TestMarkMaskOption(t *testing.T) {
	for _, bad := range []uint32{0, 0xf0, 0xff00ff00, 0x0000ff01} {
		if _, err := newConfig([]Option{WithMarkMask(bad)}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("mask %#x accepted", bad)
		}
	}
	cfg, err := newConfig([]Option{WithMarkMask(0x00fff000)})
	if err != nil || cfg.shift != 12 || cfg.maxPort() != 0xfff || cfg.markOf(2) != 0x2000 {
		t.Errorf("mask 0x00fff000: %+v %v", cfg, err)
	}
}

// TestDiff covers the plan from a state: nothing for the same policy, one
// element for a membership change, one chain for a rule change.
func TestDiff(t *testing.T) {
	cfg, _ := newConfig(nil)
	g := SecurityGroup{ID: "g", Rules: []Rule{{ID: "r", Direction: Ingress, Ethertype: IPv4, RemoteGroupID: "g"}}}
	d := Desired{Groups: []SecurityGroup{g}, Ports: []port.Port{unitPort("p1", "n1", "fa:16:3e:00:00:01", []string{"g"}, "100.64.0.5")}}
	rs, nums := mustCompile(t, d, numbers{})
	st := stateOf(rs)
	if p := diff(st, rs, cfg); !p.empty() {
		t.Fatalf("same policy: %v", p.report.Changes)
	}
	if p := diff(nil, rs, cfg); p.report.Created["table"] != 2 || p.report.Created["chain"] != len(rs.inet.chains)+len(rs.bridge.chains) {
		t.Errorf("from nothing: %s", p.report)
	}

	for i := range 1000 {
		d.Members = append(d.Members, unitPort("m"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "n1", "fa:16:3e:00:10:00", []string{"g"},
			netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(2 * i)}).String()))
	}
	rs1, _ := mustCompile(t, d, nums)
	st1 := stateOf(rs1)
	d.Members = append(d.Members, unitPort("new", "n1", "fa:16:3e:00:10:01", []string{"g"}, "203.0.113.9"))
	rs2, _ := mustCompile(t, d, nums)
	p := diff(st1, rs2, cfg)
	if p.report.Mutations() != 1 || len(p.tables[0].addElems[memberSet("g", false)]) != 1 || len(p.tables[0].fill) != 0 {
		t.Errorf("one new member of 1001: %s %v", p.report, p.report.Changes)
	}

	d.Groups[0].Rules[0].Protocol = "udp"
	rs3, _ := mustCompile(t, d, nums)
	p = diff(stateOf(rs2), rs3, cfg)
	if p.report.Updated["chain"] != 1 || len(p.tables[0].fill) != 1 || p.tables[0].fill[0].name != "sg-g-ingress" {
		t.Errorf("rule change: %s %v", p.report, p.report.Changes)
	}
	if len(p.cleanups) != 1 || !p.cleanups[0].ingress || p.cleanups[0].egress {
		t.Errorf("rule change cleanups: %v", p.cleanups)
	}
}

func TestValidateNamesPaths(t *testing.T) {
	off := false
	d := Desired{
		Groups: []SecurityGroup{
			{ID: "g", Rules: []Rule{{ID: "r", Direction: Ingress, Ethertype: IPv4, RemoteGroupID: "missing"}}},
			{ID: "s", Stateful: &off},
		},
		Ports: []port.Port{
			{ID: "p1", NetworkID: "n", MACAddress: port.MustParseMAC("fa:16:3e:00:00:01"), SecurityGroups: []string{"g", "s"}},
			{ID: "p1", NetworkID: "n", MACAddress: port.MustParseMAC("fa:16:3e:00:00:02")},
			{ID: "p3", MACAddress: port.MAC{1, 2}},
		},
	}
	err := d.Validate()
	for _, want := range []string{
		"security_groups[0].security_group_rules[0].remote_group_id",
		"ports[0].security_groups: stateful groups (g) and stateless groups (s)",
		"ports[1].id: port p1 and ports[0]",
		"ports[2].network_id",
		"ports[2].mac_address",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
}

// BenchmarkCompile: the Go side of an Apply of 100 ports whose rules
// reference a remote group of 10,000 members on other nodes.
func BenchmarkCompile(b *testing.B) {
	d := Desired{Groups: []SecurityGroup{{ID: "g", Rules: []Rule{{ID: "r", Direction: Ingress, Ethertype: IPv4, RemoteGroupID: "m"}}}, {ID: "m"}}}
	for i := range 100 {
		d.Ports = append(d.Ports, unitPort(fmt.Sprintf("p%04d", i), "n1", "fa:16:3e:00:00:01", []string{"g"}, netip.AddrFrom4([4]byte{100, 64, 0, byte(i)}).String()))
	}
	for i := range 10000 {
		d.Members = append(d.Members, unitPort(fmt.Sprintf("m%05d", i), "n1", "fa:16:3e:00:00:01", []string{"m"}, netip.AddrFrom4([4]byte{100, 65, byte(i >> 8), byte(i)}).String()))
	}
	cfg, _ := newConfig(nil)
	rs, nums, _ := compile(&d, cfg, numbers{})
	st := stateOf(rs)
	for b.Loop() {
		rs, _, err := compile(&d, cfg, nums)
		if err != nil {
			b.Fatal(err)
		}
		if p := diff(st, rs, cfg); !p.empty() {
			b.Fatal(p.report)
		}
	}
}
