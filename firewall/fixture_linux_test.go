package firewall

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

func TestMain(m *testing.M) { lab.Main(m) }

// world is one router namespace, named as the router realizer names it,
// with two tenant networks (vm1 behind qr-<p1>, vm2 behind qr-<p2>) and an
// external host behind the gateway device qg-<pg>, each dual-stack. The
// firewall realizer only needs the namespace and its devices, so the
// router is built by hand: forwarding on, no NAT (addresses are routed).
type world struct {
	t             testing.TB
	l             *lab.Lab
	prefix        string
	host, rns     *namespace.Handle
	vm1, vm2, ext *namespace.Handle
	routerID      string
	p1, p2, pg    port.Port
	mu            sync.Mutex
	records       []FlowRecord
}

const (
	vm1v4, vm2v4, extv4 = "100.64.1.10", "100.64.2.10", "198.18.0.10"
	vm1v6, vm2v6, extv6 = "2001:db8:1::10", "2001:db8:2::10", "2001:db8:ff::10"
)

func newWorld(t testing.TB) *world {
	l := lab.New(t)
	w := &world{t: t, l: l, prefix: l.NodePrefix("n1"), routerID: "r0000001-0000-4000-8000-000000000001"}
	w.host = l.Namespace("host")
	w.rns = l.Namespace("n1-" + naming.RouterNamespace(w.routerID))
	w.vm1, w.vm2, w.ext = l.Namespace("vm1"), l.Namespace("vm2"), l.Namespace("ext")
	w.p1 = w.routerPort("p0000001-0000-4000-8000-000000000001", port.OwnerRouterInterface)
	w.p2 = w.routerPort("p0000002-0000-4000-8000-000000000002", port.OwnerRouterInterface)
	w.pg = w.routerPort("p0000003-0000-4000-8000-000000000003", port.OwnerRouterGateway)
	l.Link(w.rns, deviceOf(&w.p1), []string{"100.64.1.1/24", "2001:db8:1::1/64"}, w.vm1, "eth0", []string{vm1v4 + "/24", vm1v6 + "/64"})
	l.Link(w.rns, deviceOf(&w.p2), []string{"100.64.2.1/24", "2001:db8:2::1/64"}, w.vm2, "eth0", []string{vm2v4 + "/24", vm2v6 + "/64"})
	l.Link(w.rns, deviceOf(&w.pg), []string{"198.18.0.1/24", "2001:db8:ff::1/64"}, w.ext, "eth0", []string{extv4 + "/24", extv6 + "/64"})
	require.NoError(t, w.rns.Sysctl("net/ipv4/ip_forward", "1"))
	require.NoError(t, w.rns.Sysctl("net/ipv6/conf/all/forwarding", "1"))
	l.Route(w.vm1, "default", "100.64.1.1")
	l.Route(w.vm1, "default", "2001:db8:1::1")
	l.Route(w.vm2, "default", "100.64.2.1")
	l.Route(w.vm2, "default", "2001:db8:2::1")
	l.Route(w.ext, "100.64.0.0/16", "198.18.0.1")
	l.Route(w.ext, "2001:db8:1::/64", "2001:db8:ff::1")
	l.Route(w.ext, "2001:db8:2::/64", "2001:db8:ff::1")
	for _, h := range []*namespace.Handle{w.vm1, w.vm2, w.ext} {
		for _, p := range []int{80, 81, 7005, 7011, 8080, 9090} {
			serveTCP(t, h, p)
		}
		for _, p := range []int{5353, 5354, 5355} {
			serveUDP(t, h, p)
		}
	}
	return w
}

func (w *world) routerPort(id, owner string) port.Port {
	return port.Port{ID: id, NetworkID: "n-" + id, DeviceOwner: owner, DeviceID: w.routerID, HostID: "n1"}
}

func (w *world) realizer(opts ...Option) *Realizer {
	opts = append([]Option{WithPrefix(w.prefix), WithFlowSink(func(r FlowRecord) {
		w.mu.Lock()
		w.records = append(w.records, r)
		w.mu.Unlock()
	})}, opts...)
	r, err := NewRealizer(w.host, opts...)
	require.NoError(w.t, err)
	w.t.Cleanup(func() { _ = r.Close() })
	return r
}

// flowRecords returns the records so far and forgets them.
func (w *world) flowRecords() []FlowRecord {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.records
	w.records = nil
	return out
}

func (w *world) apply(r *Realizer, d Desired) *Report {
	w.t.Helper()
	rep, err := r.Apply(context.Background(), d)
	require.NoError(w.t, err)
	return rep
}

// nft runs the real nft tool in the router namespace.
func (w *world) nft(args ...string) string {
	w.t.Helper()
	return w.l.MustOutput(w.rns, append([]string{"nft"}, args...)...)
}

func serveTCP(t testing.TB, h *namespace.Handle, p int) {
	var ln net.Listener
	require.NoError(t, h.Do(func() (err error) {
		ln, err = net.Listen("tcp", fmt.Sprintf("[::]:%d", p))
		return err
	}))
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
}

func serveUDP(t testing.TB, h *namespace.Handle, p int) {
	var pc net.PacketConn
	require.NoError(t, h.Do(func() (err error) {
		pc, err = net.ListenPacket("udp", fmt.Sprintf("[::]:%d", p))
		return err
	}))
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, a, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], a)
		}
	}()
}

// Outcomes of a probe.
const (
	ok      = "ok"
	refused = "refused" // TCP RST or ICMP port unreachable
	timeout = "timeout" // dropped
)

// probeTimeout bounds a probe that is dropped; a probe that passes
// answers within a millisecond here.
const probeTimeout = 600 * time.Millisecond

// probe sends one TCP connection (with an echoed line), UDP datagram or
// ICMP echo from h to addr and says what happened.
func (w *world) probe(h *namespace.Handle, proto, addr string, p int) string {
	w.t.Helper()
	return w.probeWithin(h, proto, addr, p, probeTimeout)
}

// check probes, and when the probe timed out but want is not a timeout,
// probes again with a longer timeout: a loaded machine can be slower than
// probeTimeout, and a probe that must pass deserves a second chance.
func (w *world) check(h *namespace.Handle, proto, addr string, p int, want string) string {
	w.t.Helper()
	got := w.probe(h, proto, addr, p)
	if got == timeout && want != timeout {
		got = w.probeWithin(h, proto, addr, p, 3*time.Second)
	}
	return got
}

// probeWithin is probe with a given timeout for TCP and UDP.
func (w *world) probeWithin(h *namespace.Handle, proto, addr string, p int, wait time.Duration) string {
	w.t.Helper()
	a := netip.MustParseAddr(addr)
	if proto == "icmp" {
		argv := []string{"ping", "-c", "1", "-W", "1", addr}
		if a.Is6() {
			argv = []string{"ping", "-6", "-c", "1", "-W", "1", addr}
		}
		if _, err := w.l.Run(h, 5*time.Second, argv...); err != nil {
			return timeout
		}
		return ok
	}
	var c net.Conn
	err := h.Do(func() (err error) {
		c, err = net.DialTimeout(proto, netip.AddrPortFrom(a, uint16(p)).String(), wait)
		return err
	})
	if err != nil {
		return outcome(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return outcome(err)
	}
	buf := make([]byte, 16)
	if _, err := c.Read(buf); err != nil {
		return outcome(err)
	}
	return ok
}

func outcome(err error) string {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return refused
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return timeout
	}
	return "error: " + err.Error()
}
