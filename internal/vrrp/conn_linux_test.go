package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

func TestMain(m *testing.M) { lab.Main(m) }

var (
	haA = netip.MustParseAddr("169.254.192.1")
	haB = netip.MustParseAddr("169.254.192.2")
	vip = netip.MustParseAddr("169.254.0.7")
)

// haPair is two namespaces on one HA network (a veth pair).
func haPair(t *testing.T) (*lab.Lab, *namespace.Handle, *namespace.Handle) {
	l := lab.New(t)
	a, b := l.Namespace("a"), l.Namespace("b")
	l.Link(a, "ha-a", []string{haA.String() + "/18"}, b, "ha-b", []string{haB.String() + "/18"})
	return l, a, b
}

type running struct {
	inst   *Instance
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	<-r.done
	if r.err != nil {
		t.Fatal(r.err)
	}
}

func runOurs(t *testing.T, ns *namespace.Handle, dev string, local netip.Addr, interval time.Duration) *running {
	t.Helper()
	return runOursWith(t, ns, dev, Config{VRID: 7, Priority: 50, Interval: interval, Local: local, Addrs: []netip.Addr{vip}})
}

func runOursWith(t *testing.T, ns *namespace.Handle, dev string, cfg Config) *running {
	t.Helper()
	conn, err := Listen(ns, dev, cfg.Local, cfg.VRID)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := NewInstance(cfg, conn, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{inst: inst, cancel: cancel, done: make(chan struct{})}
	go func() { r.err = inst.Run(ctx); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// holds checks, for a while, that cond stays true (used for "no takeover
// happens": one sample is not enough).
func holds(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
	}
}

func TestRawConnTwoInstancesElectOneMaster(t *testing.T) {
	_, a, b := haPair(t)
	// 0.2 s: long enough that a loaded machine (race detector, parallel
	// tests) does not starve a master past the backup's master-down timer.
	ra := runOurs(t, a, "ha-a", haA, 200*time.Millisecond)
	waitFor(t, "a master", func() bool { return ra.inst.State() == Master })
	rb := runOurs(t, b, "ha-b", haB, 200*time.Millisecond)
	// b hears a's adverts over the wire and, without preemption, stays
	// backup although its address is higher.
	waitFor(t, "b hears a", func() bool { return rb.inst.Received() >= 5 })
	holds(t, "one master", time.Second, func() bool { return ra.inst.State() == Master && rb.inst.State() == Backup })
	if ra.inst.Dropped()+rb.inst.Dropped() != 0 {
		t.Fatalf("dropped %d/%d", ra.inst.Dropped(), rb.inst.Dropped())
	}
	ra.stop(t)
	waitFor(t, "b takes over", func() bool { return rb.inst.State() == Master })
}

func hasAddr(t *testing.T, ns *namespace.Handle, dev string, a netip.Addr) bool {
	t.Helper()
	link, err := ns.Netlink().LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := ns.Netlink().AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range addrs {
		if x.IP.Equal(a.AsSlice()) {
			return true
		}
	}
	return false
}

// keepalivedConf is the vrrp_instance Neutron writes (state BACKUP,
// priority 50, nopreempt, the primary VIP 169.254.0.<vrid>/24), at a
// sub-second interval, which keepalived allows with VRRP version 3.
func keepalivedConf(dev string, interval time.Duration, priority int, preempt bool) string {
	nopreempt := "nopreempt"
	if preempt {
		nopreempt = ""
	}
	return fmt.Sprintf(`global_defs {
    router_id neutrino-interop
    vrrp_version 3
}
vrrp_instance VR_7 {
    state BACKUP
    interface %s
    virtual_router_id 7
    priority %d
    %s
    advert_int %g
    virtual_ipaddress {
        %s/24 dev %s
    }
}
`, dev, priority, nopreempt, interval.Seconds(), vip, dev)
}

func startKeepalived(t *testing.T, l *lab.Lab, ns *namespace.Handle, dev string, interval time.Duration) func() {
	return startKeepalivedWith(t, l, ns, dev, keepalivedConf(dev, interval, 50, false))
}

func startKeepalivedWith(t *testing.T, l *lab.Lab, ns *namespace.Handle, dev, config string) func() {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out := l.Start(ns, "keepalived", "--dont-fork", "--log-console", "--vrrp", "--use-file", conf,
		"--pid", filepath.Join(dir, "k.pid"), "--vrrp_pid", filepath.Join(dir, "v.pid"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keepalived output:\n%s", out.String())
		}
	})
	return func() { lab.Stop(cmd) }
}

// TestKeepalivedInterop peers our instance with keepalived on one HA
// network, both directions: each stays backup under the other's adverts
// (Neutron's nopreempt at equal priority) and takes over when the other
// stops.
func TestKeepalivedInterop(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireCmd(t, "keepalived")
	l, a, b := haPair(t)
	const interval = 100 * time.Millisecond

	ours := runOurs(t, a, "ha-a", haA, interval)
	waitFor(t, "ours master", func() bool { return ours.inst.State() == Master })
	stopK := startKeepalived(t, l, b, "ha-b", interval)
	// keepalived has the higher address: were it not hearing us, it would
	// take over after 0.38 s and add the VIP.
	holds(t, "keepalived backup under our adverts", 2*time.Second, func() bool {
		return ours.inst.State() == Master && !hasAddr(t, b, "ha-b", vip)
	})

	ours.stop(t)
	waitFor(t, "keepalived takes over", func() bool { return hasAddr(t, b, "ha-b", vip) })

	ours = runOurs(t, a, "ha-a", haA, interval)
	waitFor(t, "keepalived adverts heard", func() bool { return ours.inst.Received() >= 5 })
	holds(t, "ours backup under keepalived's adverts", 2*time.Second, func() bool {
		return ours.inst.State() == Backup && hasAddr(t, b, "ha-b", vip)
	})
	if n := ours.inst.Dropped(); n != 0 {
		t.Fatalf("%d of keepalived's packets failed our checks (checksum, TTL)", n)
	}

	stopK()
	waitFor(t, "ours takes over", func() bool { return ours.inst.State() == Master })
	waitFor(t, "keepalived VIP gone", func() bool { return !hasAddr(t, b, "ha-b", vip) })
}

// TestKeepalivedPriorities checks priority comparison on the wire both
// ways: a preempting keepalived of higher priority takes over from us, and
// we, preempting with a higher priority still, take over from it.
func TestKeepalivedPriorities(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireCmd(t, "keepalived")
	l, a, b := haPair(t)
	const interval = 100 * time.Millisecond
	ours := runOurs(t, a, "ha-a", haA, interval)
	waitFor(t, "ours master", func() bool { return ours.inst.State() == Master })
	stopK := startKeepalivedWith(t, l, b, "ha-b", keepalivedConf("ha-b", interval, 100, true))
	defer stopK()
	waitFor(t, "keepalived (100, preempt) takes over", func() bool { return hasAddr(t, b, "ha-b", vip) })
	waitFor(t, "ours (50) backup", func() bool { return ours.inst.State() == Backup })
	holds(t, "one master", time.Second, func() bool { return ours.inst.State() == Backup && hasAddr(t, b, "ha-b", vip) })
	ours.stop(t)

	high := runOursWith(t, a, "ha-a", Config{VRID: 7, Priority: 150, Preempt: true, Interval: interval, Local: haA, Addrs: []netip.Addr{vip}})
	waitFor(t, "ours (150, preempt) takes over", func() bool { return high.inst.State() == Master })
	waitFor(t, "keepalived gives the VIP back", func() bool { return !hasAddr(t, b, "ha-b", vip) })
	holds(t, "one master", time.Second, func() bool { return high.inst.State() == Master && !hasAddr(t, b, "ha-b", vip) })
}

func FuzzParseIPv4(f *testing.F) {
	adv, _ := Packet{VRID: 7, Priority: 50, Interval: 10, Addrs: []netip.Addr{vip}}.Marshal(haA, Group)
	ip := []byte{0x45, 0xc0, 0, byte(20 + len(adv)), 0, 0, 0, 0, 255, Protocol, 0, 0, 169, 254, 192, 1, 224, 0, 0, 18}
	f.Add(append(ip, adv...))
	f.Add([]byte{0x4f})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseIPv4(b)
		if err != nil {
			return
		}
		// Accepted only with TTL 255, to 224.0.0.18, from the header's
		// source, with a checksum that verifies.
		if b[8] != 255 || netip.AddrFrom4([4]byte(b[16:20])) != Group || r.Src != netip.AddrFrom4([4]byte(b[12:16])) {
			t.Fatalf("accepted %x as %+v", b, r)
		}
	})
}

// TestRawConnFiltersOtherVRIDs: a socket for VRID 8 gets none of VRID 7's
// advertisements, the socket for VRID 7 on the same device does.
func TestRawConnFiltersOtherVRIDs(t *testing.T) {
	_, a, b := haPair(t)
	ra := runOurs(t, a, "ha-a", haA, 20*time.Millisecond)
	waitFor(t, "a master", func() bool { return ra.inst.State() == Master })
	other, err := Listen(b, "ha-b", haB, 8)
	if err != nil {
		t.Fatal(err)
	}
	same, err := Listen(b, "ha-b", haB, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer same.Close()
	if r, err := same.Receive(); err != nil || r.Packet.VRID != 7 || r.Src != haA {
		t.Fatalf("vrid 7 socket: %+v, %v", r, err)
	}
	got := make(chan error, 1)
	go func() { _, err := other.Receive(); got <- err }()
	time.Sleep(500 * time.Millisecond) // 25 advertisements of VRID 7
	other.Close()
	if err := <-got; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("vrid 8 socket received: %v", err)
	}
}
