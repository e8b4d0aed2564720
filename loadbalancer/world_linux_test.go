package loadbalancer

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

func TestMain(m *testing.M) { lab.Main(m) }

const vip = "100.64.1.10"

// world is a node ("host" namespace) with network net1's bridge made by the
// network realizer, a client and member namespaces plugged into it, and a
// load-balancer realizer under test.
type world struct {
	t      *testing.T
	l      *lab.Lab
	host   *namespace.Handle
	r      *Realizer
	d      Desired
	client *namespace.Handle
	lb     *namespace.Handle
	n      int
}

func newWorld(t *testing.T) *world {
	l := lab.New(t)
	w := &world{t: t, l: l, host: l.Namespace("host")}
	nets, err := network.NewRealizer(w.host)
	require.NoError(t, err)
	_, err = nets.Apply(context.Background(), network.Desired{Networks: []network.Network{{ID: "net1", MTU: 1450, NetworkType: network.TypeLocal}}})
	require.NoError(t, err)
	mac, _ := port.ParseMAC("fa:16:3e:00:00:10")
	w.d = Desired{
		Networks: []network.Network{{ID: "net1", MTU: 1450, NetworkType: network.TypeLocal}},
		Subnets: []subnet.Subnet{{ID: "sub1", NetworkID: "net1", IPVersion: 4, CIDR: netip.MustParsePrefix("100.64.1.0/24"),
			GatewayIP: netip.MustParseAddr("100.64.1.1")}},
		Ports: []port.Port{{ID: "vipport-0001", NetworkID: "net1", MACAddress: mac, DeviceOwner: port.OwnerLoadBalancer,
			HostID: "node1", FixedIPs: []port.FixedIP{{SubnetID: "sub1", IPAddress: netip.MustParseAddr(vip)}}}},
		Collections: Collections{LoadBalancers: []LoadBalancer{{ID: "lb1", VIPPortID: "vipport-0001"}}},
	}
	w.r, err = NewRealizer(w.host, WithPrefix(l.NodePrefix("n1")))
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.r.Close() })
	w.client = w.plug("client", "100.64.1.50/24")
	return w
}

// plug makes a namespace joined to net1's bridge with the given addresses.
func (w *world) plug(name string, addrs ...string) *namespace.Handle {
	w.t.Helper()
	h := w.l.Namespace(name)
	w.n++
	br, err := w.host.Netlink().LinkByName(naming.Bridge("net1"))
	require.NoError(w.t, err)
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MasterIndex, attrs.MTU = fmt.Sprintf("fx%d", w.n), br.Attrs().Index, 1450
	require.NoError(w.t, w.host.Netlink().LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerNamespace: netlink.NsFd(h.Fd())}))
	w.l.Up(w.host, attrs.Name)
	w.l.Up(h, "eth0", addrs...)
	return h
}

func (w *world) apply() *Report {
	w.t.Helper()
	rep, err := w.r.Apply(context.Background(), w.d)
	require.NoError(w.t, err)
	return rep
}

// requireIdle asserts a second Apply, and a Plan, change nothing.
func (w *world) requireIdle() {
	w.t.Helper()
	rep := w.apply()
	require.Zero(w.t, rep.Mutations(), "second Apply changed: %v", rep.Changes)
	rep, err := w.r.Plan(context.Background(), w.d)
	require.NoError(w.t, err)
	require.Zero(w.t, rep.Mutations(), "Plan after Apply: %v", rep.Changes)
}

// member is a backend namespace running a TCP greeter, an HTTP server and
// a UDP echo, each answering with the member's name.
type member struct {
	name string
	h    *namespace.Handle
	addr string
	mu   sync.Mutex
	tcp  net.Listener
	w    *world
}

func (w *world) member(name, addr string) *member {
	m := &member{name: name, h: w.plug(name, addr+"/24"), addr: addr, w: w}
	m.startTCP()
	var hl net.Listener
	require.NoError(w.t, m.h.Do(func() (err error) { hl, err = net.Listen("tcp", ":8080"); return err }))
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "%s xff=%s proto=%s", name, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"))
	})}
	go func() { _ = srv.Serve(hl) }()
	var uc net.PacketConn
	require.NoError(w.t, m.h.Do(func() (err error) { uc, err = net.ListenPacket("udp", ":5353"); return err }))
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := uc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = uc.WriteTo(append([]byte(name+" "), buf[:n]...), from)
		}
	}()
	w.t.Cleanup(func() { m.stopTCP(); _ = srv.Close(); _ = uc.Close() })
	return m
}

func (m *member) startTCP() {
	var ln net.Listener
	require.NoError(m.w.t, m.h.Do(func() (err error) { ln, err = net.Listen("tcp", ":8000"); return err }))
	m.mu.Lock()
	m.tcp = ln
	m.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, m.name+"\n")
			_ = c.Close()
		}
	}()
}

func (m *member) stopTCP() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tcp != nil {
		_ = m.tcp.Close()
		m.tcp = nil
	}
}

// dial connects from the client namespace (from src when valid) and returns
// the first line the server sent.
func (w *world) greet(src netip.Addr, port int) (string, error) {
	return w.greetFrom(src, vip, port)
}

// greetAt greets the server at addr:port.
func (w *world) greetAt(addr string, port int) (string, error) {
	return w.greetFrom(netip.Addr{}, addr, port)
}

func (w *world) greetFrom(src netip.Addr, addr string, port int) (string, error) {
	var c net.Conn
	err := w.client.Do(func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second}
		if src.IsValid() {
			d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
		}
		c, err = d.Dial("tcp", net.JoinHostPort(addr, fmt.Sprint(port)))
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// count greets n times and counts the answers per member.
func (w *world) count(n, port int) map[string]int {
	w.t.Helper()
	out := map[string]int{}
	for range n {
		name, err := w.greet(netip.Addr{}, port)
		require.NoError(w.t, err)
		out[name]++
	}
	return out
}

// lbNS opens the load balancer's namespace once (a handle per poll would
// push nftables sockets past descriptor 1023, where the library's select(2)
// fails: PITFALLS.md).
func (w *world) lbNS() *namespace.Handle {
	w.t.Helper()
	if w.lb != nil {
		return w.lb
	}
	h, err := namespace.NewManager(w.l.NodePrefix("n1")).Open(Namespace("lb1"))
	require.NoError(w.t, err)
	w.t.Cleanup(func() { _ = h.Close() })
	w.lb = h
	return h
}

// nsDialer dials from inside a namespace (the client's).
type nsDialer struct{ h *namespace.Handle }

func (d *nsDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return (&nsNet{h: d.h}).DialContext(ctx, network, addr)
}

func mustLink(t *testing.T, h *namespace.Handle, name string) netlink.Link {
	t.Helper()
	l, err := h.Netlink().LinkByName(name)
	require.NoError(t, err)
	return l
}
