package router

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

// haWorld is two nodes' namespaces of one HA router on three shared
// segments (bridges in a switch namespace): the HA network, the internal
// network with an instance, the external network with an upstream host.
// Both members have qr-/qg- devices with the same MACs, as the same Neutron
// ports do on every node.
type haWorld struct {
	t        testing.TB
	l        *lab.Lab
	sw, vm   *namespace.Handle
	up       *namespace.Handle
	nodes    [2]*namespace.Handle
	members  [2]*HAMember
	interval time.Duration
	// extraVIPs are held by the active member besides qr-/qg- addresses.
	extraVIPs []HAVIP
}

var (
	haQRMAC = net.HardwareAddr{0xfa, 0x16, 0x3e, 0, 0, 1}
	haQGMAC = net.HardwareAddr{0xfa, 0x16, 0x3e, 0, 0, 2}
	haUp    = netip.MustParseAddr("198.18.0.1")
)

func newHAWorld(t testing.TB, interval time.Duration) *haWorld {
	l := lab.New(t)
	w := &haWorld{t: t, l: l, sw: l.Namespace("sw"), vm: l.Namespace("vm"), up: l.Namespace("up"), interval: interval}
	for _, br := range []string{"brha", "brint", "brext"} {
		if err := w.sw.Netlink().LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: br}}); err != nil {
			t.Fatal(err)
		}
		l.Up(w.sw, br)
	}
	l.Link(w.vm, "eth0", []string{"100.64.1.10/24"}, w.sw, "ivm", nil)
	w.enslave("ivm", "brint")
	l.Route(w.vm, "default", "100.64.1.1")
	l.Link(w.up, "eth0", []string{haUp.String() + "/24"}, w.sw, "eup", nil)
	w.enslave("eup", "brext")
	l.Route(w.up, "100.64.1.0/24", "198.18.0.10")
	for i := range w.nodes {
		w.nodes[i] = l.Namespace("node" + string(rune('1'+i)) + "-qrouter")
		if err := w.nodes[i].Sysctl("net.ipv4.ip_forward", "1"); err != nil {
			t.Fatal(err)
		}
		w.attach(i)
	}
	t.Cleanup(func() {
		for _, m := range w.members {
			if m != nil {
				_ = m.Stop()
			}
		}
	})
	return w
}

func (w *haWorld) enslave(dev, br string) {
	link, err := w.sw.Netlink().LinkByName(dev)
	if err == nil {
		var bl netlink.Link
		bl, err = w.sw.Netlink().LinkByName(br)
		if err == nil {
			err = w.sw.Netlink().LinkSetMaster(link, bl)
		}
	}
	if err != nil {
		w.t.Fatalf("enslave %s to %s: %v", dev, br, err)
	}
}

func swDev(kind string, node int) string { return kind + string(rune('1'+node)) }

// attach plugs node's router namespace into the three segments: the node
// (re)joins the cloud. Only ha- gets an address; the rest are VIPs.
func (w *haWorld) attach(node int) {
	ns := w.nodes[node]
	ha := netip.AddrFrom4([4]byte{169, 254, 192, byte(1 + node)})
	w.l.Link(ns, "ha-r", []string{ha.String() + "/18"}, w.sw, swDev("h", node), nil)
	w.enslave(swDev("h", node), "brha")
	for _, d := range []struct {
		dev, sw, br string
		mac         net.HardwareAddr
	}{{"qr-x", swDev("i", node), "brint", haQRMAC}, {"qg-x", swDev("e", node), "brext", haQGMAC}} {
		w.l.Link(ns, d.dev, nil, w.sw, d.sw, nil)
		link, err := ns.Netlink().LinkByName(d.dev)
		if err == nil {
			err = ns.Netlink().LinkSetHardwareAddr(link, d.mac)
		}
		if err != nil {
			w.t.Fatal(err)
		}
		w.enslave(d.sw, d.br)
	}
}

// detach cuts all of node's links, as a node that dies or loses its
// network; its member keeps running, unaware, as it would.
func (w *haWorld) detach(node int) {
	for _, k := range []string{"h", "i", "e"} {
		link, err := w.sw.Netlink().LinkByName(swDev(k, node))
		if err == nil {
			err = w.sw.Netlink().LinkDel(link)
		}
		if err != nil {
			w.t.Fatalf("cut node %d: %v", node+1, err)
		}
	}
}

func (w *haWorld) start(node int) {
	m, err := StartHA(w.nodes[node], w.config(node), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	w.members[node] = m
}

func (w *haWorld) config(node int) HAConfig {
	cfg := HAConfig{
		RouterID: "r1", VRID: 1, Interval: w.interval, HADev: "ha-r",
		HAAddr: netip.AddrFrom4([4]byte{169, 254, 192, byte(1 + node)}),
		VIPs: []HAVIP{
			{Dev: "qr-x", Prefix: netip.MustParsePrefix("100.64.1.1/24")},
			{Dev: "qg-x", Prefix: netip.MustParsePrefix("198.18.0.10/24")},
		},
		Routes: []HARoute{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: []netip.Addr{haUp}, Dev: "qg-x"}},
	}
	cfg.VIPs = append(cfg.VIPs, w.extraVIPs...)
	return cfg
}

func (w *haWorld) restart(node int) {
	if m := w.members[node]; m != nil {
		_ = m.Stop()
	}
	w.start(node)
	waitUntil(w.t, "restarted member running", func() bool { return w.members[node].State() != HAUnknown })
}

func (w *haWorld) states() [2]HAState {
	return [2]HAState{w.members[0].State(), w.members[1].State()}
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// prober sends a numbered UDP datagram from the instance to the upstream
// echo every 10 ms and records when each answer comes back.
type prober struct {
	mu     sync.Mutex
	sent   map[uint32]time.Time
	bySeq  map[uint32]time.Time
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startProber(t testing.TB, vm, up *namespace.Handle) *prober {
	var srv, cli *net.UDPConn
	if err := up.Do(func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 7007})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := vm.Do(func() (err error) {
		cli, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: haUp.AsSlice(), Port: 7007})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{sent: map[uint32]time.Time{}, bySeq: map[uint32]time.Time{}, cancel: cancel}
	p.wg.Add(3)
	go func() { // echo
		defer p.wg.Done()
		buf := make([]byte, 64)
		for {
			n, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteToUDP(buf[:n], from)
		}
	}()
	go func() { // receive answers
		defer p.wg.Done()
		buf := make([]byte, 64)
		for {
			n, err := cli.Read(buf)
			if err != nil {
				return
			}
			if n == 4 {
				p.mu.Lock()
				p.bySeq[binary.BigEndian.Uint32(buf)] = time.Now()
				p.mu.Unlock()
			}
		}
	}()
	go func() { // send, bounded by ctx
		defer p.wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for seq := uint32(0); ; seq++ {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], seq)
			p.mu.Lock()
			p.sent[seq] = time.Now()
			p.mu.Unlock()
			_, _ = cli.Write(b[:])
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		srv.Close()
		cli.Close()
		p.wg.Wait()
	})
	return p
}

// firstAnswerAfter is the arrival of the first answer to a probe sent
// after at, or zero.
func (p *prober) firstAnswerAfter(at time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var first time.Time
	for seq, got := range p.bySeq {
		if p.sent[seq].After(at) && (first.IsZero() || got.Before(first)) {
			first = got
		}
	}
	return first
}

// failover cuts the active member's node and returns the time from the cut
// to the first answer through the other member, then brings the cut node
// back (a restarted member that must come back standby).
func (w *haWorld) failover(p *prober) time.Duration {
	t := w.t
	states := w.states()
	active := slices.Index(states[:], HAActive)
	if active < 0 {
		t.Fatal("no active member")
	}
	other := 1 - active
	waitUntil(t, "traffic through the active member", func() bool { return !p.firstAnswerAfter(time.Now().Add(-50 * time.Millisecond)).IsZero() })
	// The cut counts from the moment all links are gone: before that,
	// probes still pass through the old member's remaining links.
	w.detach(active)
	cut := time.Now()
	var first time.Time
	waitUntil(t, "traffic through the new active member", func() bool {
		first = p.firstAnswerAfter(cut)
		return !first.IsZero()
	})
	if s := w.members[other].State(); s != HAActive {
		t.Fatalf("answers after the cut but member %d is %s", other+1, s)
	}
	// The node comes back: links and a fresh member (the old one's socket
	// was bound to the devices that went).
	w.attach(active)
	w.restart(active)
	return first.Sub(cut)
}

// TestHAFailover: one member is active and holds the addresses; cutting its
// node moves traffic to the other; the restored node comes back standby
// (no preemption) and never holds the addresses meanwhile.
func TestHAFailover(t *testing.T) {
	w := newHAWorld(t, 100*time.Millisecond)
	w.start(0)
	waitUntil(t, "node1 active", func() bool { return w.members[0].State() == HAActive })
	w.start(1)
	waitUntil(t, "node2 standby", func() bool { return w.members[1].State() == HAStandby })
	p := startProber(t, w.vm, w.up)
	holdsFor(t, "node1 active, node2 standby", 1*time.Second, func() bool {
		return w.states() == [2]HAState{HAActive, HAStandby} && !hasVIP(t, w.nodes[1], "qg-x")
	})
	if !hasVIP(t, w.nodes[0], "qg-x") {
		t.Fatal("active member does not hold its VIP")
	}

	d := w.failover(p)
	t.Logf("failover at 0.1 s adverts: cut -> first answer through node2 in %s", d)
	holdsFor(t, "restored node1 standby", 1*time.Second, func() bool {
		return w.states() == [2]HAState{HAStandby, HAActive} && !hasVIP(t, w.nodes[0], "qg-x")
	})
	if err := errorsOf(w.members[:]); err != nil {
		t.Fatal(err)
	}

	// Graceful stop of the active member (priority 0): node1 takes over
	// and node2 gives its addresses back.
	if err := w.members[1].Stop(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "node1 active again", func() bool { return w.members[0].State() == HAActive })
	if hasVIP(t, w.nodes[1], "qg-x") || hasVIP(t, w.nodes[1], "qr-x") {
		t.Fatal("stopped member kept its addresses")
	}
	w.members[1] = nil
}

func errorsOf(ms []*HAMember) error {
	for _, m := range ms {
		if m != nil && m.Err() != nil {
			return m.Err()
		}
	}
	return nil
}

func holdsFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
	}
}

func hasVIP(t testing.TB, ns *namespace.Handle, dev string) bool {
	t.Helper()
	link, err := ns.Netlink().LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := ns.Netlink().AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	return len(addrs) > 0
}

// BenchmarkHAFailover measures, over b.N failovers (run with
// -benchtime=20x), the time from cutting the active node to the first
// answer through the new active member. Reported as median and spread.
func BenchmarkHAFailover(b *testing.B) {
	for _, iv := range []time.Duration{100 * time.Millisecond, 2 * time.Second} {
		b.Run(iv.String(), func(b *testing.B) {
			w := newHAWorld(b, iv)
			w.start(0)
			waitUntil(b, "node1 active", func() bool { return w.members[0].State() == HAActive })
			w.start(1)
			p := startProber(b, w.vm, w.up)
			var ds []time.Duration
			b.ResetTimer()
			for range b.N {
				ds = append(ds, w.failover(p))
				waitUntil(b, "restored member standby", func() bool {
					s := w.states()
					return !slices.Contains(s[:], HAUnknown) && slices.Contains(s[:], HAActive)
				})
			}
			b.StopTimer()
			slices.Sort(ds)
			b.ReportMetric(float64(ds[len(ds)/2].Milliseconds()), "median-ms")
			b.ReportMetric(float64(ds[0].Milliseconds()), "min-ms")
			b.ReportMetric(float64(ds[len(ds)-1].Milliseconds()), "max-ms")
			b.ReportMetric(float64(ds[len(ds)/2])/float64(iv), "median/advert")
		})
	}
}
