package router

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

// benchDoc is n routers, each with a gateway on one external network, SNAT,
// two internal networks and one floating IP.
func benchDoc(n int) *docBuilder {
	b := &docBuilder{}
	ext, extSub := b.network("198.18.0.0/16", "198.18.0.1", true)
	for i := range n {
		r := b.router(ext, extSub, fmt.Sprintf("198.18.1.%d", i+2))
		_, s1 := b.network(fmt.Sprintf("100.64.%d.0/24", 2*i), fmt.Sprintf("100.64.%d.1", 2*i), false)
		_, s2 := b.network(fmt.Sprintf("100.64.%d.0/24", 2*i+1), fmt.Sprintf("100.64.%d.1", 2*i+1), false)
		b.attach(r, s1)
		b.attach(r, s2)
		b.fip(r, ext, fmt.Sprintf("198.18.2.%d", i+2), fmt.Sprintf("100.64.%d.10", 2*i))
	}
	return b
}

// benchNode is a lab host with the bridges of a document.
func benchNode(b *testing.B, doc *docBuilder) (*lab.Lab, *namespace.Handle) {
	l := lab.New(b)
	host := l.Namespace("host")
	for _, n := range doc.d.Networks {
		attrs := netlink.NewLinkAttrs()
		// The alias the network realizer writes: the router realizer
		// plugs only into bridges it recognizes as the network's.
		attrs.Name, attrs.MTU, attrs.Alias = naming.Bridge(n.ID), n.MTU, naming.OwnerAlias(network.KindBridge, n.ID)
		br := &netlink.Bridge{LinkAttrs: attrs}
		if err := host.Netlink().LinkAdd(br); err != nil {
			b.Fatal(err)
		}
		if err := host.Netlink().LinkSetAlias(br, attrs.Alias); err != nil {
			b.Fatal(err)
		}
		if err := host.Netlink().LinkSetIP6AddrGenMode(br, in6AddrGenModeNone); err != nil {
			b.Fatal(err)
		}
		if err := host.Netlink().LinkSetUp(br); err != nil {
			b.Fatal(err)
		}
	}
	return l, host
}

// wipe removes the node's router namespaces and every device in them (and
// so their host ends), then waits for the kernel to finish tearing the
// namespaces down, so that the next run starts from the same state.
func wipe(b *testing.B, prefix string) {
	mgr := namespace.NewManager(prefix)
	names, err := mgr.List()
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range names {
		h, err := mgr.Open(n)
		if err != nil {
			b.Fatal(err)
		}
		links, _ := h.Netlink().LinkList()
		for _, l := range links {
			if l.Attrs().Name != "lo" {
				_ = h.Netlink().LinkDel(l)
			}
		}
		h.Close()
		if err := mgr.Delete(n); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(3 * time.Second)
}

// BenchmarkBringUp100Routers measures 100 routers (2 internal interfaces, a
// gateway, SNAT, one floating IP each) from scratch: the realizer against
// the same state made with one ip/nft/sysctl process per operation, and
// with one `ip -batch` per namespace plus one `nft -f` per router.
func BenchmarkBringUp100Routers(b *testing.B) {
	doc := benchDoc(100)
	specs, err := doc.d.compile()
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"neutrino", "ip-batch+nft-f", "process-per-op"} {
		b.Run(mode, func(b *testing.B) {
			if mode != "neutrino" {
				lab.RequireCmd(b, "ip", "nft", "sysctl")
			}
			l, host := benchNode(b, doc)
			prefix := l.NodePrefix("n1")
			var (
				ops int
				cpu time.Duration
			)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				wipe(b, prefix)
				start := cpuTime() + childCPUTime()
				b.StartTimer()
				switch mode {
				case "neutrino":
					r, err := NewRealizer(host, WithPrefix(prefix), WithGARP(0, 0))
					if err != nil {
						b.Fatal(err)
					}
					rep, err := r.Apply(context.Background(), doc.d)
					if err != nil {
						b.Fatal(err)
					}
					ops = rep.Mutations()
					b.StopTimer()
					r.Close()
					b.StartTimer()
				case "ip-batch+nft-f":
					ops = batchBaseline(b, host, prefix, specs)
				default:
					ops = perOpBaseline(b, host, prefix, specs)
				}
				b.StopTimer()
				cpu += cpuTime() + childCPUTime() - start
				b.StartTimer()
			}
			b.ReportMetric(float64(ops), "ops")
			b.ReportMetric(float64(cpu)/float64(b.N)/1e6, "cpu-ms/op")
			b.StopTimer()
			verifyBaseline(b, host, prefix, doc)
			wipe(b, prefix)
		})
	}
}

// verifyBaseline checks that a run made the state the realizer wants: a
// Plan finds nothing to do.
func verifyBaseline(b *testing.B, host *namespace.Handle, prefix string, doc *docBuilder) {
	r, err := NewRealizer(host, WithPrefix(prefix), WithGARP(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	rep, err := r.Plan(context.Background(), doc.d)
	if err != nil {
		b.Fatal(err)
	}
	if rep.Mutations() != 0 {
		b.Fatalf("the run did not make the desired state: %d changes, first %v", rep.Mutations(), rep.Changes[:min(5, len(rep.Changes))])
	}
}

// childCPUTime is the CPU time of the processes the baselines ran.
func childCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func run(b *testing.B, argv ...string) {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		b.Fatalf("%v: %v\n%s", argv, err, out)
	}
}

func runStdin(b *testing.B, stdin string, argv ...string) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%v: %v\n%s", argv, err, out)
	}
}

// baselineCmds is the state of one router as ip commands: those run in the
// host and those run in the router namespace (ip -n), plus its sysctls and
// its nftables rules in nft syntax, one statement per operation.
type baselineCmds struct {
	ns      string
	host    []string
	inNS    []string
	sysctls []string
	nft     []string
}

func baselineFor(prefix string, s *routerSpec) baselineCmds {
	ns := prefix + s.Namespace
	c := baselineCmds{ns: ns}
	for _, sc := range routerSysctls {
		c.sysctls = append(c.sysctls, sc.key+"="+sc.value)
	}
	c.inNS = append(c.inNS, "link set lo up")
	for _, i := range s.Ifaces {
		alias := naming.OwnerAlias(ownerKind, i.PortID)
		c.host = append(c.host,
			fmt.Sprintf("link add %s mtu %d master %s type veth peer name %s netns %s address %s mtu %d", i.Tap, i.MTU, i.Bridge, i.Name, ns, i.MAC, i.MTU),
			fmt.Sprintf("link set %s addrgenmode none alias %s up", i.Tap, alias))
		c.inNS = append(c.inNS, fmt.Sprintf("link set %s alias %s up", i.Name, alias))
		for _, a := range i.Addrs {
			c.inNS = append(c.inNS, fmt.Sprintf("addr add %s dev %s", a, i.Name))
		}
	}
	for _, r := range s.Routes {
		c.inNS = append(c.inNS, fmt.Sprintf("route add %s via %s dev %s proto %d", r.Dst, r.Via[0], r.Dev, nl.RouteProtocol))
	}
	n := s.NAT
	t := "inet " + natTable
	chains := natChains(n, nil, true)
	comment := func(chain, i int) string { return fmt.Sprintf(" comment %q", chains[chain].rules[i].comment) }
	c.nft = append(c.nft, "add table "+t,
		fmt.Sprintf("add map %s %s { type ipv4_addr : ipv4_addr; }", t, dnatMap),
		fmt.Sprintf("add map %s %s { type ipv4_addr : ipv4_addr; }", t, snatMap),
		fmt.Sprintf("add chain %s prerouting { type nat hook prerouting priority dstnat; }", t),
		fmt.Sprintf("add chain %s output { type nat hook output priority -100; }", t),
		fmt.Sprintf("add chain %s postrouting { type nat hook postrouting priority srcnat; }", t),
		fmt.Sprintf("add rule %s prerouting dnat ip to ip daddr map @%s", t, dnatMap)+comment(0, 0),
		fmt.Sprintf("add rule %s output dnat ip to ip daddr map @%s", t, dnatMap)+comment(1, 0),
		fmt.Sprintf(`add rule %s postrouting oifname != "%s" ct status ! dnat accept`, t, n.GatewayDev)+comment(2, 0),
		fmt.Sprintf("add rule %s postrouting snat ip to ip saddr map @%s fully-random", t, snatMap)+comment(2, 1),
		fmt.Sprintf(`add rule %s postrouting oifname "%s" snat ip to %s fully-random`, t, n.GatewayDev, n.GatewayIP)+comment(2, 2),
		fmt.Sprintf(`add rule %s postrouting iifname != "%s" ct status dnat snat ip to %s fully-random`, t, n.GatewayDev, n.GatewayIP)+comment(2, 3))
	for fip, fixedIP := range n.FIPs {
		c.nft = append(c.nft,
			fmt.Sprintf("add element %s %s { %s : %s }", t, dnatMap, fip, fixedIP),
			fmt.Sprintf("add element %s %s { %s : %s }", t, snatMap, fixedIP, fip))
	}
	return c
}

func perOpBaseline(b *testing.B, host *namespace.Handle, prefix string, specs []*routerSpec) int {
	ops := 0
	hostNS := host.Name()
	for _, s := range specs {
		c := baselineFor(prefix, s)
		run(b, "ip", "netns", "add", c.ns)
		for _, kv := range c.sysctls {
			run(b, "ip", "netns", "exec", c.ns, "sysctl", "-q", "-w", kv)
		}
		for _, cmd := range c.host {
			run(b, append([]string{"ip", "-n", hostNS}, strings.Fields(cmd)...)...)
		}
		for _, cmd := range c.inNS {
			run(b, append([]string{"ip", "-n", c.ns}, strings.Fields(cmd)...)...)
		}
		for _, cmd := range c.nft {
			run(b, "ip", "netns", "exec", c.ns, "nft", cmd)
		}
		ops += 1 + len(c.sysctls) + len(c.host) + len(c.inNS) + len(c.nft)
	}
	return ops
}

func batchBaseline(b *testing.B, host *namespace.Handle, prefix string, specs []*routerSpec) int {
	dir := b.TempDir()
	hostNS := host.Name()
	ops := 0
	for _, s := range specs {
		c := baselineFor(prefix, s)
		run(b, "ip", "netns", "add", c.ns)
		run(b, append([]string{"ip", "netns", "exec", c.ns, "sysctl", "-q", "-w"}, c.sysctls...)...)
		runStdin(b, strings.Join(c.host, "\n")+"\n", "ip", "-n", hostNS, "-batch", "-")
		runStdin(b, strings.Join(c.inNS, "\n")+"\n", "ip", "-n", c.ns, "-batch", "-")
		file := filepath.Join(dir, "nat.nft")
		if err := os.WriteFile(file, []byte(strings.Join(c.nft, "\n")+"\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		run(b, "ip", "netns", "exec", c.ns, "nft", "-f", file)
		ops += 5
	}
	return ops
}

// cpuTime is the process's user and system CPU time so far: on a shared
// machine it shows the work done where wall time also shows the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkNoopApply100Routers measures an Apply that finds nothing to do
// on 100 realized routers.
func BenchmarkNoopApply100Routers(b *testing.B) {
	doc := benchDoc(100)
	l, host := benchNode(b, doc)
	r, err := NewRealizer(host, WithPrefix(l.NodePrefix("n1")), WithGARP(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Apply(context.Background(), doc.d); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		rep, err := r.Apply(context.Background(), doc.d)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Mutations() != 0 {
			b.Fatalf("no-op Apply made changes: %v", rep.Changes)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	wipe(b, l.NodePrefix("n1"))
}

// BenchmarkAddFIPAt10k measures adding (and removing) one floating IP on a
// router that has 10,000.
func BenchmarkAddFIPAt10k(b *testing.B) {
	doc := &docBuilder{}
	ext, extSub := doc.network("198.18.0.0/15", "198.18.0.1", true)
	r := doc.router(ext, extSub, "198.18.0.2")
	_, s := doc.network("100.64.0.0/16", "100.64.0.1", false)
	doc.attach(r, s)
	base := netip.MustParseAddr("198.18.16.0")
	fixedBase := netip.MustParseAddr("100.64.16.0")
	for i := 0; i < 10000; i++ {
		doc.d.FloatingIPs = append(doc.d.FloatingIPs, FloatingIP{ID: fmt.Sprintf("fip-%d", i), FloatingIPAddress: base,
			FloatingNetworkID: ext, PortID: "p", FixedIPAddress: fixedBase, RouterID: r})
		base, fixedBase = base.Next(), fixedBase.Next()
	}
	l, host := benchNode(b, doc)
	rz, err := NewRealizer(host, WithPrefix(l.NodePrefix("n1")), WithGARP(0, 0))
	if err != nil {
		b.Fatal(err)
	}
	defer rz.Close()
	start := time.Now()
	if _, err := rz.Apply(context.Background(), doc.d); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-initial-10k")
	with := doc.d
	with.FloatingIPs = append(append([]FloatingIP(nil), doc.d.FloatingIPs...), FloatingIP{ID: "new", FloatingIPAddress: base,
		FloatingNetworkID: ext, PortID: "p", FixedIPAddress: fixedBase, RouterID: r})
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		d := with
		if i%2 == 1 {
			d = doc.d
		}
		rep, err := rz.Apply(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		if m := rep.Mutations(); m > 5 {
			b.Fatalf("one FIP change made %d changes: %v", m, rep.Changes)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	wipe(b, l.NodePrefix("n1"))
}
