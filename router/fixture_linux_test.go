package router

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
)

func TestMain(m *testing.M) {
	haTestChild() // the HA helper tests re-execute this binary as agent and helper
	lab.Main(m)
}

// fixture is a node ("host" namespace) with the L2 a router realizer
// expects, made by the network realizer (a bridge per network) and the port
// realizer (instances plugged into them), and an external host plugged into
// the external network by a veth of the test's own.
type fixture struct {
	t    *testing.T
	l    *lab.Lab
	host *namespace.Handle
	b    *docBuilder
	n    int

	nets      *network.Realizer
	ports     *port.Realizer
	instances []port.Port
}

func newFixture(t *testing.T) *fixture {
	l := lab.New(t)
	f := &fixture{t: t, l: l, host: l.Namespace("host"), b: &docBuilder{}}
	var err error
	f.nets, err = network.NewRealizer(f.host)
	require.NoError(t, err)
	f.ports, err = port.NewRealizer(f.host)
	require.NoError(t, err)
	return f
}

func (f *fixture) realizer(opts ...Option) *Realizer {
	opts = append([]Option{WithPrefix(f.l.NodePrefix("n1")), WithGARP(3, 50*time.Millisecond)}, opts...)
	r, err := NewRealizer(f.host, opts...)
	require.NoError(f.t, err)
	f.t.Cleanup(func() { _ = r.Close() })
	return r
}

// bridges realizes the bridge of every network of the document.
func (f *fixture) bridges() {
	f.t.Helper()
	_, err := f.nets.Apply(context.Background(), network.Desired{Networks: f.b.d.Networks})
	require.NoError(f.t, err)
}

// plug joins namespace h to network netID through a veth: dev in h (with
// the given addresses, MAC and default route) and a host end in the bridge.
func (f *fixture) plug(h *namespace.Handle, dev, netID string, mac net.HardwareAddr, gw string, addrs ...string) {
	f.t.Helper()
	f.n++
	hostEnd := fmt.Sprintf("fx%d", f.n)
	br, err := f.host.Netlink().LinkByName(naming.Bridge(netID))
	require.NoError(f.t, err)
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MasterIndex, attrs.MTU = hostEnd, br.Attrs().Index, 1450
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: dev, PeerNamespace: netlink.NsFd(h.Fd()), PeerHardwareAddr: mac, PeerTxQLen: -1}
	require.NoError(f.t, f.host.Netlink().LinkAdd(veth))
	f.l.Up(f.host, hostEnd)
	f.l.Up(h, dev, addrs...)
	if gw != "" {
		f.l.Route(h, "default", gw)
	}
}

// instance makes a namespace holding an instance with a port on subnetID,
// plugged by the port realizer with its address and default route.
func (f *fixture) instance(name, subnetID, ip string) (*namespace.Handle, port.Port) {
	f.t.Helper()
	s := f.b.subnet(subnetID)
	h := f.l.Namespace(name)
	p := port.Port{ID: f.b.id(), NetworkID: s.NetworkID, MACAddress: f.b.mac(), DeviceOwner: "compute:nova",
		FixedIPs: []port.FixedIP{fixed(subnetID, ip)},
		Profile:  port.Profile{NetNS: h.Path(), IfName: "eth0", ConfigureIPs: true}}
	f.instances = append(f.instances, p)
	_, err := f.ports.Apply(context.Background(), port.Desired{Ports: f.instances, Networks: f.b.d.Networks, Subnets: f.b.d.Subnets})
	require.NoError(f.t, err)
	return h, p
}

// apply applies the document and fails the test on error.
func (f *fixture) apply(r *Realizer) *Report {
	f.t.Helper()
	rep, err := r.Apply(context.Background(), f.b.d)
	require.NoError(f.t, err)
	return rep
}

// routerNS opens the router's namespace the way a test inspects it.
func (f *fixture) routerNS(id string) *namespace.Handle {
	f.t.Helper()
	h, err := namespace.NewManager(f.l.NodePrefix("n1")).Open(naming.RouterNamespace(id))
	require.NoError(f.t, err)
	f.t.Cleanup(func() { _ = h.Close() })
	return h
}

// server is a TCP server inside a namespace that greets every client with
// its name and echoes lines prefixed with it, recording client addresses.
type server struct {
	name string
	ln   net.Listener
	mu   sync.Mutex
	seen []string
}

func serve(t *testing.T, h *namespace.Handle, name, addr string) *server {
	t.Helper()
	s := &server{name: name}
	require.NoError(t, h.Do(func() error {
		var err error
		s.ln, err = net.Listen("tcp", addr)
		return err
	}))
	t.Cleanup(func() { _ = s.ln.Close() })
	go func() {
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.seen = append(s.seen, c.RemoteAddr().(*net.TCPAddr).IP.String())
			s.mu.Unlock()
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s\n", s.name)
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "%s %s\n", s.name, sc.Text())
				}
			}()
		}
	}()
	return s
}

func (s *server) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		return ""
	}
	return s.seen[len(s.seen)-1]
}

// conn is a client connection made from inside a namespace.
type conn struct {
	c net.Conn
	r *bufio.Reader
}

func dialFrom(h *namespace.Handle, addr string) (*conn, string, error) {
	var c net.Conn
	err := h.Do(func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 3*time.Second)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	cn := &conn{c: c, r: bufio.NewReader(c)}
	greeting, err := cn.line(3 * time.Second)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	return cn, greeting, nil
}

func (c *conn) line(timeout time.Duration) (string, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(timeout))
	s, err := c.r.ReadString('\n')
	return strings.TrimSpace(s), err
}

// greet connects from h to addr and returns the server's name.
func greet(t *testing.T, h *namespace.Handle, addr string) string {
	t.Helper()
	c, name, err := dialFrom(h, addr)
	require.NoError(t, err, "connect to %s from %s", addr, h.Name())
	c.c.Close()
	return name
}

// ping reports whether one ICMP echo from h to addr is answered.
func (f *fixture) ping(h *namespace.Handle, addr string) bool {
	_, err := f.l.Run(h, 10*time.Second, "ping", "-c", "1", "-W", "2", addr)
	return err == nil
}

// captureGARP listens for ARP on dev inside h and delivers the sender MAC
// of every announcement of ip (a request or reply whose sender is ip).
func captureGARP(t *testing.T, h *namespace.Handle, dev string, ip netip.Addr) <-chan string {
	t.Helper()
	var c *arp.Client
	require.NoError(t, h.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		c, err = arp.Dial(ifi)
		return err
	}))
	t.Cleanup(func() { _ = c.Close() })
	out := make(chan string, 64)
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	go func() {
		for {
			p, _, err := c.Read()
			if err != nil {
				return
			}
			if p.SenderIP == ip && p.TargetIP == ip {
				select {
				case out <- p.SenderHardwareAddr.String():
				default:
				}
			}
		}
	}()
	return out
}
