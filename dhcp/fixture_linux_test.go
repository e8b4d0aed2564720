package dhcp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
)

func TestMain(m *testing.M) { lab.Main(m) }

// world is a node ("host" namespace) with the L2 the DHCP realizer expects,
// built by the network realizer (the network's bridge) and the port
// realizer (instances plugged into it, their MAC on eth0, no address: the
// DHCP clients under test configure them).
type world struct {
	t     *testing.T
	l     *lab.Lab
	host  *namespace.Handle
	logs  *lab.SafeBuffer
	nets  *network.Realizer
	ports *port.Realizer
	net   network.Network
	plugs []port.Port
}

func newWorld(t *testing.T) *world {
	l := lab.New(t)
	w := &world{t: t, l: l, host: l.Namespace("host"), logs: &lab.SafeBuffer{}}
	var err error
	w.nets, err = network.NewRealizer(w.host)
	must(t, err)
	w.ports, err = port.NewRealizer(w.host)
	must(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", w.logs.String())
		}
	})
	return w
}

func (w *world) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (w *world) realizer(opts ...Option) *Realizer {
	w.t.Helper()
	opts = append([]Option{WithPrefix(w.l.NodePrefix("n1")), WithLogger(w.logger())}, opts...)
	r, err := NewRealizer(w.host, opts...)
	must(w.t, err)
	w.t.Cleanup(func() { _ = r.Close() })
	return r
}

// bridge realizes the network's bridge (a local network: no segment).
func (w *world) bridge(n network.Network) {
	w.t.Helper()
	network.DefaultsFor(&n, network.TypeLocal)
	w.net = n
	_, err := w.nets.Apply(context.Background(), network.Desired{Networks: []network.Network{n}})
	must(w.t, err)
}

// instance makes a namespace and plugs it into the network as port p
// (an instance port), eth0 carrying the port's MAC.
func (w *world) instance(name string, p port.Port) *namespace.Handle {
	w.t.Helper()
	ns := w.l.Namespace(name)
	// Link-local addresses usable at once, for DHCPv6 clients.
	must(w.t, ns.Sysctl("net/ipv6/conf/default/accept_dad", "0"))
	p.DeviceOwner, p.Profile = "compute:nova", port.Profile{NetNS: ns.Path(), IfName: "eth0"}
	w.plugs = append(w.plugs, p)
	_, err := w.ports.Apply(context.Background(), port.Desired{Ports: w.plugs, Networks: []network.Network{w.net}})
	must(w.t, err)
	return ns
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// clientScript writes a DHCP client hook that appends "--- <event>" and the
// sorted environment to out. With configure, it also puts udhcpc's address
// on the interface (so that a unicast renewal can leave from it).
func clientScript(t *testing.T, out string, udhcpc bool) string {
	t.Helper()
	var body string
	if udhcpc {
		body = `{ echo "--- $1"; env | sort; echo "=== end"; } >> ` + out + `
case "$1" in bound|renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface" ;;
esac
exit 0
`
	} else {
		body = `{ echo "--- $reason"; env | sort; echo "=== end"; } >> ` + out + `
exit 0
`
	}
	p := filepath.Join(t.TempDir(), "hook.sh")
	must(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755))
	return p
}

// events parses a hook's output into its complete events, each a map of
// variables.
func events(path string) []map[string]string {
	b, _ := os.ReadFile(path)
	var out []map[string]string
	for _, block := range strings.Split(string(b), "--- ")[1:] {
		if !strings.Contains(block, "=== end") {
			continue // still being written
		}
		lines := strings.Split(block, "\n")
		ev := map[string]string{"EVENT": strings.TrimSpace(lines[0])}
		for _, l := range lines[1:] {
			if k, v, ok := strings.Cut(l, "="); ok {
				ev[k] = v
			}
		}
		out = append(out, ev)
	}
	return out
}

// waitEvent polls the hook output until an event satisfies ok.
func waitEvent(t *testing.T, path string, timeout time.Duration, what string, ok func(map[string]string) bool) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		for _, ev := range events(path) {
			if ok(ev) {
				return ev
			}
		}
		select {
		case <-ctx.Done():
			b, _ := os.ReadFile(path)
			t.Fatalf("no %s within %v; hook output:\n%s", what, timeout, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// relay is a DHCP relay agent in its own namespace on the network: it sends
// DISCOVERs with giaddr set from port 67 and reads the server's replies.
type relay struct {
	t    *testing.T
	conn *net.UDPConn
	addr netip.Addr
}

func newRelay(t *testing.T, w *world, cidr string) *relay {
	t.Helper()
	p := netip.MustParsePrefix(cidr)
	ns := w.instance(fmt.Sprintf("relay%d", len(w.plugs)), port.Port{ID: fmt.Sprintf("f0000000-%04d-4000-8000-0000000000fe", len(w.plugs)),
		NetworkID: w.net.ID, MACAddress: port.MAC{2, 0, 0, 0, byte(len(w.plugs)), 0xfe}})
	w.l.Up(ns, "eth0", cidr)
	rl := &relay{t: t, addr: p.Addr()}
	must(t, ns.Do(func() error {
		var err error
		rl.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: p.Addr().AsSlice(), Port: 67})
		return err
	}))
	t.Cleanup(func() { rl.conn.Close() })
	return rl
}

// ask relays a DISCOVER for mac to the server at 100.64.10.2 and returns its
// answer, or nil when none comes within 3 seconds.
func (rl *relay) ask(mac port.MAC) *dhcpv4.DHCPv4 {
	t := rl.t
	t.Helper()
	m, err := dhcpv4.NewDiscovery(mac.HardwareAddr(), dhcpv4.WithGatewayIP(rl.addr.AsSlice()), func(d *dhcpv4.DHCPv4) { d.HopCount = 1 })
	must(t, err)
	_, err = rl.conn.WriteToUDP(m.ToBytes(), &net.UDPAddr{IP: net.ParseIP("100.64.10.2"), Port: 67})
	must(t, err)
	must(t, rl.conn.SetReadDeadline(time.Now().Add(3*time.Second)))
	buf := make([]byte, 1500)
	for {
		n, from, err := rl.conn.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		reply, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || reply.TransactionID != m.TransactionID {
			continue // a late answer to an earlier question
		}
		if from.Port != 67 || !from.IP.Equal(net.ParseIP("100.64.10.2")) {
			t.Errorf("relay reply from %v", from)
		}
		return reply
	}
}
