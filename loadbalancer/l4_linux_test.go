package loadbalancer

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
)

func (w *world) tcpPool(alg string, weights ...int) {
	w.d.Listeners = []Listener{{ID: "tcp80", LoadBalancerID: "lb1", Protocol: ProtocolTCP, ProtocolPort: 80, DefaultPoolID: "web"}}
	w.d.Pools = []Pool{{ID: "web", LoadBalancerID: "lb1", Protocol: ProtocolTCP, LBAlgorithm: alg}}
	w.d.Members = nil
	for i, wt := range weights {
		id := string(rune('1' + i))
		w.d.Members = append(w.d.Members, Member{ID: "m" + id, PoolID: "web", Address: netip.MustParseAddr("100.64.1.2" + id), ProtocolPort: 8000, Weight: ptr(wt)})
	}
}

// chiSquare is Pearson's statistic of counts against expected shares.
func chiSquare(counts map[string]int, weights map[string]int, n int) float64 {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := 0.0
	for k, w := range weights {
		e := float64(n) * float64(w) / float64(total)
		d := float64(counts[k]) - e
		x += d * d / e
	}
	return x
}

// TestRoundRobinFollowsWeights: 1,200 connections to a TCP listener balanced
// in the kernel reach three members in proportion 1:2:3. The kernel's
// "numgen inc" walks the slots in order, so the expected counts are exact
// (200/400/600) unless a connection was mis-routed; the test allows the
// chi-square statistic (2 degrees of freedom) up to 13.8, its p = 0.001
// critical value, so that a stray SYN retransmission (which conntrack
// keeps on its first choice) cannot fail it, while a wrong weight (1:1:1
// gives 200 here) fails it by far.
func TestRoundRobinFollowsWeights(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.member("m3", "100.64.1.23")
	w.tcpPool(RoundRobin, 1, 2, 3)
	rep := w.apply()
	require.Equal(t, 1, rep.Created["namespace"], rep.Changes)
	w.requireIdle()

	const n = 1200
	counts := w.count(n, 80)
	x := chiSquare(counts, map[string]int{"m1": 1, "m2": 2, "m3": 3}, n)
	t.Logf("counts %v chi-square %.2f", counts, x)
	require.Less(t, x, 13.8, "distribution %v does not follow weights 1:2:3", counts)

	// The nft tool reads back what was programmed.
	lab.RequireCmd(t, "nft")
	out := w.l.MustOutput(w.lbNS(), "nft", "list", "table", "inet", TableName)
	for _, want := range []string{"numgen inc mod 6 map @m-tcp80", "meta l4proto . th dport vmap @listeners", "masquerade", "goto l-tcp80"} {
		require.Contains(t, out, want)
	}

	// Changing a weight is a change of map elements and modulus, nothing else.
	w.d.Members[0].Weight = ptr(3)
	rep = w.apply()
	require.Zero(t, rep.Created["namespace"]+rep.Created["link"]+rep.Created["addr"], rep.Changes)
	require.NotZero(t, rep.Created["nft-element"], rep.Changes)
	w.requireIdle()
	counts = w.count(600, 80)
	x = chiSquare(counts, map[string]int{"m1": 3, "m2": 2, "m3": 3}, 600)
	t.Logf("after reweighting: counts %v chi-square %.2f", counts, x)
	require.Less(t, x, 13.8)
}

// TestSourceIPSticks: every connection from one client address reaches the
// same member; another address is hashed on its own.
func TestSourceIPSticks(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.member("m3", "100.64.1.23")
	w.tcpPool(SourceIP, 1, 1, 1)
	w.apply()
	w.requireIdle()
	seen := map[string]bool{}
	for i := range 8 {
		src := netip.AddrFrom4([4]byte{100, 64, 1, byte(60 + i)})
		link, err := w.client.Netlink().LinkByName("eth0")
		require.NoError(t, err)
		require.NoError(t, w.client.Netlink().AddrAdd(link, toAddr(netip.PrefixFrom(src, 24))))
		first := ""
		for range 20 {
			name, err := w.greet(src, 80)
			require.NoError(t, err)
			if first == "" {
				first = name
			}
			require.Equal(t, first, name, "client %s moved between members", src)
		}
		seen[first] = true
	}
	t.Logf("8 clients spread over %d members", len(seen))
}

// TestUDPListener: datagrams to a UDP listener reach a member and its reply
// comes back from the VIP.
func TestUDPListener(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.d.Listeners = []Listener{{ID: "udp53", LoadBalancerID: "lb1", Protocol: ProtocolUDP, ProtocolPort: 53, DefaultPoolID: "dns"}}
	w.d.Pools = []Pool{{ID: "dns", LoadBalancerID: "lb1", Protocol: ProtocolUDP, LBAlgorithm: RoundRobin}}
	w.d.Members = []Member{
		{ID: "m1", PoolID: "dns", Address: netip.MustParseAddr("100.64.1.21"), ProtocolPort: 5353},
		{ID: "m2", PoolID: "dns", Address: netip.MustParseAddr("100.64.1.22"), ProtocolPort: 5353},
	}
	w.apply()
	w.requireIdle()
	got := map[string]int{}
	for i := range 20 {
		var c net.Conn
		require.NoError(t, w.client.Do(func() (err error) { c, err = net.Dial("udp", vip+":53"); return err }))
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		_, err := c.Write([]byte("q" + string(rune('a'+i))))
		require.NoError(t, err)
		buf := make([]byte, 128)
		n, err := c.Read(buf)
		require.NoError(t, err, "no UDP answer")
		_ = c.Close()
		got[strings.Fields(string(buf[:n]))[0]]++
	}
	t.Logf("UDP answers %v", got)
	require.Equal(t, map[string]int{"m1": 10, "m2": 10}, got)
}

// TestRemovingTheLoadBalancerCleansEverything: an empty Desired removes the
// namespace and the VIP port's host end; a second Apply changes nothing.
func TestRemovingTheLoadBalancerCleansEverything(t *testing.T) {
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.tcpPool(RoundRobin, 1)
	w.apply()
	_, err := w.greet(netip.Addr{}, 80)
	require.NoError(t, err)
	tap := naming.Tap("vipport-0001")
	_, err = w.host.Netlink().LinkByName(tap)
	require.NoError(t, err)

	keep := w.d
	w.d = Desired{Networks: keep.Networks, Subnets: keep.Subnets}
	rep := w.apply()
	require.Equal(t, 1, rep.Deleted["namespace"], rep.Changes)
	require.Equal(t, 1, rep.Deleted["link"], rep.Changes)
	_, err = w.host.Netlink().LinkByName(tap)
	require.Error(t, err, "host end of the VIP port left behind")
	require.False(t, namespace.NewManager(w.l.NodePrefix("n1")).Exists(Namespace("lb1")))
	w.requireIdle()
	// The Realizer stops serving it: nothing answers on the VIP.
	_, err = w.greet(netip.Addr{}, 80)
	require.Error(t, err)
}

// TestPlanChangesNothing: a Plan on a fresh node reports the creations and
// makes none of them.
func TestPlanChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.tcpPool(RoundRobin, 1)
	rep, err := w.r.Plan(context.Background(), w.d)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Created["namespace"])
	require.Equal(t, 1, rep.Created["link"])
	require.NotZero(t, rep.Created["nft-element"])
	require.False(t, namespace.NewManager(w.l.NodePrefix("n1")).Exists(Namespace("lb1")))
	require.Equal(t, 1, w.apply().Created["namespace"])
}

// TestInvalidDesiredAppliesNothing: a document with a member outside the
// VIP network is refused before anything is created.
func TestInvalidDesiredAppliesNothing(t *testing.T) {
	w := newWorld(t)
	w.tcpPool(RoundRobin, 1)
	w.d.Members[0].Address = netip.MustParseAddr("198.51.100.7")
	rep, err := w.r.Apply(context.Background(), w.d)
	require.ErrorContains(t, err, "members[0].address")
	require.NotNil(t, rep)
	require.Zero(t, rep.Mutations())
	require.False(t, namespace.NewManager(w.l.NodePrefix("n1")).Exists(Namespace("lb1")))
}

// TestRepairsDrift: the kernel is the state. A table deleted by hand, a
// slot element deleted, the VIP address removed and the VIP device deleted
// are all put back by the next Apply, which reports exactly those repairs.
func TestRepairsDrift(t *testing.T) {
	lab.RequireCmd(t, "nft")
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.tcpPool(RoundRobin, 1, 1)
	w.apply()
	ns := w.lbNS()

	w.l.MustRun(ns, "nft", "delete", "element", "inet", TableName, "m-tcp80", "{ 1 }")
	rep := w.apply()
	require.Equal(t, 1, rep.Created["nft-element"], rep.Changes)
	require.Equal(t, 1, rep.Mutations(), rep.Changes)

	w.l.MustRun(ns, "nft", "delete", "table", "inet", TableName)
	rep = w.apply()
	require.Equal(t, 1, rep.Created["nft-table"], rep.Changes)
	require.Equal(t, map[string]int{"m1": 5, "m2": 5}, w.count(10, 80))

	w.l.MustRun(ns, "ip", "addr", "flush", "dev", naming.Device(DevicePrefix, "vipport-0001"))
	rep = w.apply()
	require.Equal(t, 1, rep.Created["addr"], rep.Changes)
	require.Equal(t, 1, rep.Created["route"], rep.Changes, "the default route goes with the address")
	w.requireIdle()

	require.NoError(t, ns.Netlink().LinkDel(mustLink(t, ns, naming.Device(DevicePrefix, "vipport-0001"))))
	rep = w.apply()
	require.Equal(t, 1, rep.Created["link"], rep.Changes)
	w.requireIdle()
	require.Equal(t, map[string]int{"m1": 5, "m2": 5}, w.count(10, 80))
}

// TestRestartTakesOver: the kernel keeps balancing TCP while no realizer
// runs (an agent restart); a new realizer takes the node over with zero
// mutations and serves the proxy's listeners again.
func TestRestartTakesOver(t *testing.T) {
	lab.RequireCmd(t, "curl")
	w := newWorld(t)
	w.member("m1", "100.64.1.21")
	w.member("m2", "100.64.1.22")
	w.tcpPool(RoundRobin, 1, 1)
	w.d.Listeners = append(w.d.Listeners, Listener{ID: "http81", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, ProtocolPort: 81, DefaultPoolID: "h"})
	w.d.Pools = append(w.d.Pools, Pool{ID: "h", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, LBAlgorithm: RoundRobin})
	w.d.Members = append(w.d.Members, Member{ID: "h1", PoolID: "h", Address: netip.MustParseAddr("100.64.1.21"), ProtocolPort: 8080})
	w.apply()
	require.NoError(t, w.r.Close())

	require.Equal(t, map[string]int{"m1": 3, "m2": 3}, w.count(6, 80), "the kernel path must not depend on the process")
	r2, err := NewRealizer(w.host, WithPrefix(w.l.NodePrefix("n1")))
	require.NoError(t, err)
	w.r = r2
	t.Cleanup(func() { _ = r2.Close() })
	rep := w.apply()
	require.Zero(t, rep.Mutations(), rep.Changes)
	require.Equal(t, "m1 xff=100.64.1.50 proto=http 200", w.curl("http://"+vip+":81/"))
}
