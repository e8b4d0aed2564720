package port

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

// benchTopology is nets VXLAN networks with ports tap ports each, all bound
// to node n1.
func benchTopology(nets, ports int) *topo {
	tp := &topo{hosts: map[string]netip.Addr{"n1": netip.MustParseAddr("198.18.0.1")}}
	for i := range nets {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		tp.networks = append(tp.networks, network.Network{ID: id, NetworkType: network.TypeVXLAN, SegmentationID: 1000 + i, MTU: 1450})
		for j := range ports {
			k := i*ports + j
			tp.ports = append(tp.ports, Port{
				ID: fmt.Sprintf("%08x-%04x-4000-8000-%012x", k, i, k), NetworkID: id, HostID: "n1", DeviceOwner: "compute:nova",
				MACAddress: MAC{0xfa, 0x16, 0x3e, byte(k >> 16), byte(k >> 8), byte(k)},
			})
		}
	}
	return tp
}

func (n *node) applyTimed(t testing.TB, tp *topo) (time.Duration, int) {
	start := time.Now()
	nd, pd := L2ForHost(n.name, tp.hosts, tp.networks, tp.subnets, tp.ports)
	nrep, err := n.net.Apply(context.Background(), nd)
	require.NoError(t, err)
	prep, err := n.port.Apply(context.Background(), pd)
	require.NoError(t, err)
	return time.Since(start), nrep.Mutations() + prep.Mutations()
}

// ipPerOp programs the same state as the realizers with one `ip` process per
// operation, the way agents that shell out do, IPv6 address generation off
// as ours (without it, every new port floods its bridge: PITFALLS.md).
func ipPerOp(t testing.TB, h *namespace.Handle, tp *topo) (time.Duration, int) {
	var cmds [][]string
	ip := func(args ...string) { cmds = append(cmds, append([]string{"ip", "-n", h.Name()}, args...)) }
	for _, n := range tp.networks {
		br, vx := naming.Bridge(n.ID), naming.VXLAN(n.SegmentationID)
		ip("link", "add", br, "mtu", "1450", "type", "bridge")
		ip("link", "set", br, "addrgenmode", "none")
		ip("link", "set", br, "up")
		ip("link", "add", vx, "mtu", "1450", "type", "vxlan", "id", strconv.Itoa(n.SegmentationID),
			"local", "198.18.0.1", "dstport", "4789", "nolearning", "proxy")
		ip("link", "set", vx, "addrgenmode", "none")
		ip("link", "set", vx, "master", br)
		ip("link", "set", vx, "up")
	}
	for _, p := range tp.ports {
		tap, br := naming.Tap(p.ID), naming.Bridge(p.NetworkID)
		ip("tuntap", "add", "dev", tap, "mode", "tap")
		ip("link", "set", tap, "mtu", "1450")
		ip("link", "set", tap, "addrgenmode", "none")
		ip("link", "set", tap, "master", br)
		ip("link", "set", tap, "up")
	}
	start := time.Now()
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	return time.Since(start), len(cmds)
}

func countLinks(t testing.TB, h *namespace.Handle) int {
	links, err := h.Netlink().LinkList()
	require.NoError(t, err)
	return len(links)
}

// TestBenchPlug1000Ports plugs 1000 tap ports on 100 VXLAN networks with the
// realizers, then applies again (no-op), and programs the same state in a
// fresh namespace with one `ip` process per operation. Run with
// NEUTRINO_BENCH=1 (sizes: NEUTRINO_BENCH_NETWORKS, NEUTRINO_BENCH_PORTS per
// network; NEUTRINO_BENCH_REPS realizer runs, each on a fresh namespace, of
// which the fastest and the median are shown: the `ip` run lasts long enough
// to average out a busy machine, a realizer run does not). It prints the
// times and their ratio and asserts none of them.
func TestBenchPlug1000Ports(t *testing.T) {
	if os.Getenv("NEUTRINO_BENCH") != "1" {
		t.Skip("benchmark: set NEUTRINO_BENCH=1")
	}
	nets, per, reps := envInt("NEUTRINO_BENCH_NETWORKS", 100), envInt("NEUTRINO_BENCH_PORTS", 10), envInt("NEUTRINO_BENCH_REPS", 3)
	l := lab.New(t)
	tp := benchTopology(nets, per)

	var plugs, noops []time.Duration
	var muts, links int
	for i := range reps {
		ns := fmt.Sprintf("n1-%d", i)
		n := newNode(t, l, ns)
		n.name = "n1" // the host the topology binds the ports to
		plug, m := n.applyTimed(t, tp)
		noop, again := n.applyTimed(t, tp)
		require.Zero(t, again, "no-op Apply")
		plugs, noops, muts, links = append(plugs, plug), append(noops, noop), m, countLinks(t, n.host)
	}
	slices.Sort(plugs)
	slices.Sort(noops)

	base := l.Namespace("ipbase")
	ipTime, ops := ipPerOp(t, base, tp)
	require.Equal(t, links, countLinks(t, base), "both ways build the same devices")
	start := time.Now()
	out, err := exec.Command("ip", "-n", base.Name(), "-d", "link", "show").CombinedOutput()
	require.NoError(t, err, "%s", out)
	ipRead := time.Since(start)

	best, median := plugs[0], plugs[len(plugs)/2]
	report := fmt.Sprintf(`plug %d ports on %d VXLAN networks (load average %s)
  neutrino realizers: %8.0f ms fastest, %.0f ms median of %d  (%d mutations)
  ip per operation:   %8.0f ms  (%d ip processes)
  ratio:              %8.1fx fastest, %.1fx median
no-op Apply:          %8.1f ms fastest, %.1f ms median  (0 mutations)
  one "ip -d link show" (reading the state once, no decision): %.1f ms
`, nets*per, nets, loadAverage(), ms(best), ms(median), reps, muts, ms(ipTime), ops,
		float64(ipTime)/float64(best), float64(ipTime)/float64(median), ms(noops[0]), ms(noops[len(noops)/2]), ms(ipRead))
	t.Log("\n" + report)
	fmt.Print(report)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkNoopApply measures a no-op Apply of both realizers with 1000 tap
// ports on 100 VXLAN networks in place.
func BenchmarkNoopApply(b *testing.B) {
	l := lab.New(b)
	h := l.Namespace("n1")
	nr, err := network.NewRealizer(h)
	require.NoError(b, err)
	pr, err := NewRealizer(h)
	require.NoError(b, err)
	n1 := &node{name: "n1", host: h, net: nr, port: pr}
	tp := benchTopology(100, 10)
	n1.applyTimed(b, tp)
	// b.Loop runs the setup once: with b.N rounds each round would build
	// 1200 devices while the kernel tears down the previous round's.
	for b.Loop() {
		if _, muts := n1.applyTimed(b, tp); muts != 0 {
			b.Fatalf("%d mutations", muts)
		}
	}
}
