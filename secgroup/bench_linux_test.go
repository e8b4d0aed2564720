package secgroup

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

// Benchmarks run in a lab namespace (root only). Ports need no devices:
// the policy names taps and bridges, and the kernel matches names.

func benchID(kind byte, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%c%011x", i, kind, i) }

func benchPort(i, networks int, groups []string) port.Port {
	p := port.Port{
		ID: benchID('a', i), NetworkID: benchID('e', i%networks), DeviceOwner: "compute:nova",
		MACAddress:     port.MAC{0xfa, 0x16, 0x3e, byte(i >> 16), byte(i >> 8), byte(i)},
		SecurityGroups: groups,
		FixedIPs: []port.FixedIP{
			{IPAddress: netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)})},
			{IPAddress: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})},
		},
	}
	return p
}

// benchGroup is a group of ten rules of every kind: ports, a range, ICMP,
// prefixes, a remote group, an address group, and egress to anywhere.
func benchGroup(id, remote string) SecurityGroup {
	r := func(dir, eth, proto string, lo, hi *int) Rule {
		return Rule{Direction: dir, Ethertype: eth, Protocol: Protocol(proto), PortRangeMin: lo, PortRangeMax: hi}
	}
	rules := []Rule{
		fromPrefix(r(Ingress, IPv4, "tcp", intp(22), intp(22)), "0.0.0.0/0"),
		r(Ingress, IPv4, "tcp", intp(80), intp(80)),
		fromPrefix(r(Ingress, IPv4, "tcp", intp(443), intp(443)), "198.51.100.0/24"),
		r(Ingress, IPv4, "udp", intp(5000), intp(5100)),
		r(Ingress, IPv4, "icmp", intp(8), nil),
		fromGroup(r(Ingress, IPv4, "tcp", intp(3306), intp(3306)), remote),
		r(Ingress, IPv6, "ipv6-icmp", intp(128), nil),
		fromAG(r(Ingress, IPv4, "tcp", intp(8080), intp(8080)), "ag"),
		r(Egress, IPv4, "", nil, nil),
		r(Egress, IPv6, "", nil, nil),
	}
	return group(id, true, rules...)
}

// benchPolicy is nPorts ports on ten networks spread over nGroups groups.
func benchPolicy(nPorts, nGroups int) Desired {
	d := Desired{AddressGroups: []AddressGroup{{ID: "ag", Addresses: []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("203.0.113.0/25")}}}}
	for g := range nGroups {
		d.Groups = append(d.Groups, benchGroup(benchID('b', g), benchID('b', (g+1)%nGroups)))
	}
	for i := range nPorts {
		d.Ports = append(d.Ports, benchPort(i, 10, []string{benchID('b', i%nGroups)}))
	}
	return d
}

func benchHost(b *testing.B) (*lab.Lab, *namespace.Handle) {
	l := lab.New(b)
	return l, l.Namespace("host")
}

func dropTables(b *testing.B, l *lab.Lab, h *namespace.Handle, tables ...string) {
	for _, t := range tables {
		if out, err := l.Run(h, time.Minute, "nft", "delete", "table", t, TableName); err != nil && !strings.Contains(out, "No such file") {
			b.Fatalf("delete table: %v %s", err, out)
		}
	}
}

// BenchmarkFullApply: a node's whole policy from empty tables, beside the
// same policy in the iptables driver's shape (per-port chains of linear
// rules, a linear per-port dispatch, remote groups as sets as with ipset)
// loaded by one `nft -f`.
func BenchmarkFullApply(b *testing.B) {
	for _, shape := range []struct {
		name          string
		ports, groups int
	}{{"1000ports-10rules-100groups", 1000, 100}, {"1000ports-10rules-group-per-port", 1000, 1000}} {
		d := benchPolicy(shape.ports, shape.groups)
		b.Run(shape.name+"/neutrino", func(b *testing.B) {
			l, h := benchHost(b)
			var objs int
			for b.Loop() {
				b.StopTimer()
				dropTables(b, l, h, "inet", "bridge")
				r, err := NewRealizer(h)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rep, err := r.Apply(context.Background(), d)
				if err != nil {
					b.Fatal(err)
				}
				objs = rep.Mutations()
			}
			b.ReportMetric(float64(objs), "objects")
			b.ReportMetric(float64(countRules(b, l, h)), "rules")
		})
		b.Run(shape.name+"/nft-f-iptables-shape", func(b *testing.B) {
			l, h := benchHost(b)
			path := filepath.Join(b.TempDir(), "ruleset.nft")
			text := iptablesShape(d)
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				b.StopTimer()
				dropTables(b, l, h, "inet")
				b.StartTimer()
				if out, err := l.Run(h, 5*time.Minute, "nft", "-f", path); err != nil {
					b.Fatalf("nft -f: %v\n%s", err, out)
				}
			}
			b.ReportMetric(float64(strings.Count(text, "\n")), "lines")
			b.ReportMetric(float64(countRules(b, l, h)), "rules")
		})
	}
}

func countRules(b *testing.B, l *lab.Lab, h *namespace.Handle) int {
	out, err := l.Run(h, time.Minute, "nft", "-a", "list", "ruleset")
	if err != nil {
		b.Fatal(err)
	}
	return strings.Count(out, "# handle") - strings.Count(out, "chain ") - strings.Count(out, "table ")
}

// BenchmarkMembershipChange: one member joins, or leaves, a remote group
// of 100, 1,000 and 10,000 members (ports on other nodes) that the rules of
// 100 local ports reference. The goal is a flat cost. A departure also
// deletes the conntrack entries of the departed address, which walks the
// conntrack table once.
func BenchmarkMembershipChange(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		for _, leave := range []bool{false, true} {
			name := fmt.Sprintf("members=%d/join", n)
			if leave {
				name = fmt.Sprintf("members=%d/leave", n)
			}
			b.Run(name, func(b *testing.B) {
				_, h := benchHost(b)
				d := benchPolicy(100, 10)
				remote := benchID('b', 1)
				for i := range n {
					m := benchPort(100000+i, 10, []string{remote})
					m.ID, m.HostID = benchID('c', i), "node2"
					d.Members = append(d.Members, m)
				}
				extra := benchPort(900000, 10, []string{remote})
				extra.ID = benchID('d', 0)
				with := d
				with.Members = append(append([]port.Port(nil), d.Members...), extra)
				before, after := d, with
				if leave {
					before, after = with, d
				}
				r, err := NewRealizer(h)
				if err != nil {
					b.Fatal(err)
				}
				apply := func(d Desired) *Report {
					rep, err := r.Apply(context.Background(), d)
					if err != nil {
						b.Fatal(err)
					}
					return rep
				}
				apply(before)
				var objs, ops int
				for b.Loop() {
					rep := apply(after)
					objs += rep.Mutations() - rep.Deleted["conntrack"]
					ops++
					b.StopTimer()
					apply(before)
					b.StartTimer()
				}
				b.ReportMetric(float64(objs)/float64(ops), "objects/op")
			})
		}
	}
}

// BenchmarkNoopApply: applying an unchanged policy of 1000 ports, with the
// realizer's generation-checked cache and with a cold read-back.
func BenchmarkNoopApply(b *testing.B) {
	d := benchPolicy(1000, 100)
	_, h := benchHost(b)
	r, err := NewRealizer(h)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Apply(context.Background(), d); err != nil {
		b.Fatal(err)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if rep, err := r.Apply(context.Background(), d); err != nil || rep.Mutations() != 0 {
				b.Fatal(rep, err)
			}
		}
	})
	b.Run("read-back", func(b *testing.B) {
		for b.Loop() {
			r.cache = nil
			if rep, err := r.Apply(context.Background(), d); err != nil || rep.Mutations() != 0 {
				b.Fatal(rep, err)
			}
		}
	})
}

// iptablesShape renders d the way Neutron's iptables driver lays it out,
// in nft syntax: per port an egress chain (spoof rules, DHCP, RA drop, the
// rules of its groups inline) and an ingress chain (ct state, DHCP, the
// rules inline), reached from one chain by a linear list of per-port
// matches (the iptables driver's physdev jumps; here the port number in
// the mark, as physdev matches do not exist in nftables); remote groups
// and address groups are sets, as with ipset.
func iptablesShape(d Desired) string {
	cfg, _ := newConfig(nil)
	rs, nums, err := compile(&d, cfg, numbers{})
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	b.WriteString("table inet neutrino {\n")
	for _, s := range rs.inet.sets {
		if !strings.HasPrefix(s.name, "rg-") && !strings.HasPrefix(s.name, "ag-") {
			continue
		}
		fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n", s.name, s.key)
		var elems []string
		for _, e := range s.elems {
			start, _ := netip.AddrFromSlice(e.key)
			if e.open {
				elems = append(elems, netip.PrefixFrom(start, 0).String())
				continue
			}
			end, _ := netip.AddrFromSlice(e.end)
			elems = append(elems, start.String()+"-"+end.Prev().String())
		}
		if len(elems) > 0 {
			fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(elems, ", "))
		}
		b.WriteString("\t}\n")
	}
	var dispatch []string
	groups := map[string]*chain{}
	for _, c := range rs.inet.chains {
		if c.kind == kindGroup && c.owner != "" {
			groups[c.name] = c
		}
	}
	for i := range d.Ports {
		p := &d.Ports[i]
		tap := naming.Tap(p.ID)
		n := nums.ports[tap]
		mark := fmt.Sprintf("meta mark & 0x%08x == 0x%08x", cfg.mask, cfg.markOf(n))
		dispatch = append(dispatch, mark+" jump o"+tap, mark+" jump i"+tap)
		fmt.Fprintf(&b, "\tchain s%s {\n", tap)
		for _, ip := range p.FixedIPs {
			fam := "ip"
			if ip.IPAddress.Is6() {
				fam = "ip6"
			}
			fmt.Fprintf(&b, "\t\tether saddr %s %s saddr %s return\n", p.MACAddress, fam, ip.IPAddress)
		}
		fmt.Fprintf(&b, "\t\tdrop\n\t}\n\tchain o%s {\n", tap)
		b.WriteString("\t\tip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return\n")
		fmt.Fprintf(&b, "\t\tjump s%s\n", tap)
		b.WriteString("\t\tudp sport 68 udp dport 67 return\n\t\ticmpv6 type nd-router-advert drop\n\t\tmeta l4proto ipv6-icmp return\n")
		b.WriteString("\t\tudp sport 67 udp dport 68 drop\n\t\tct state established,related return\n")
		for _, g := range p.SecurityGroups {
			for _, r := range groups[groupChain(g, Egress)].rules {
				fmt.Fprintf(&b, "\t\t%s\n", strings.Replace(r.String(), " accept comment", " return comment", 1))
			}
		}
		b.WriteString("\t\tct state invalid drop\n\t\tdrop\n\t}\n")
		fmt.Fprintf(&b, "\tchain i%s {\n\t\ticmpv6 type { 130, 135, 136 } return\n\t\tct state established,related return\n", tap)
		b.WriteString("\t\tudp sport 67 udp dport 68 return\n")
		for _, g := range p.SecurityGroups {
			for _, r := range groups[groupChain(g, Ingress)].rules {
				fmt.Fprintf(&b, "\t\t%s\n", strings.Replace(r.String(), " accept comment", " return comment", 1))
			}
		}
		b.WriteString("\t\tct state invalid drop\n\t\tdrop\n\t}\n")
	}
	b.WriteString("\tchain sg-chain {\n")
	for _, r := range dispatch {
		fmt.Fprintf(&b, "\t\t%s\n", r)
	}
	b.WriteString("\t\taccept\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tjump sg-chain\n\t}\n}\n")
	return b.String()
}
