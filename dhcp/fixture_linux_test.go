package dhcp

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

func TestMain(m *testing.M) { lab.Main(m) }

// world is a node ("host" namespace) with the L2 the DHCP realizer expects:
// the network's bridge and instances plugged into it. The network and port
// realizers build the same in production; a small netlink fixture does here
// so that these tests prove DHCP alone.
type world struct {
	t    *testing.T
	l    *lab.Lab
	host *namespace.Handle
	logs *lab.SafeBuffer
	n    int
}

func newWorld(t *testing.T) *world {
	l := lab.New(t)
	w := &world{t: t, l: l, host: l.Namespace("host"), logs: &lab.SafeBuffer{}}
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
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = r.Close() })
	return r
}

// bridge creates the network's bridge, IPv6-silent, with multicast snooping
// off so DHCPv6 multicast reaches the server whatever MLD state the bridge
// has learnt.
func (w *world) bridge(networkID string, mtu int) {
	w.t.Helper()
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = naming.Bridge(networkID), mtu
	off := false
	br := &netlink.Bridge{LinkAttrs: attrs, MulticastSnooping: &off}
	h := w.host.Netlink()
	must(w.t, h.LinkAdd(br))
	must(w.t, h.LinkSetIP6AddrGenMode(br, in6AddrGenModeNone))
	must(w.t, h.LinkSetUp(br))
}

// instance makes a namespace plugged into the network as port p: eth0 with
// the port's MAC and no address, its host end in the bridge.
func (w *world) instance(name string, p port.Port, mtu int) *namespace.Handle {
	w.t.Helper()
	ns := w.l.Namespace(name)
	// Link-local addresses usable at once, for DHCPv6 clients.
	must(w.t, ns.Sysctl("net/ipv6/conf/default/accept_dad", "0"))
	br, err := w.host.Netlink().LinkByName(naming.Bridge(p.NetworkID))
	must(w.t, err)
	w.n++
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.MasterIndex = fmt.Sprintf("fx%d", w.n), mtu, br.Attrs().Index
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: "eth0", PeerHardwareAddr: p.MACAddress.HardwareAddr(),
		PeerNamespace: netlink.NsFd(ns.Fd()), PeerMTU: uint32(mtu)}
	must(w.t, w.host.Netlink().LinkAdd(veth))
	hostEnd, err := w.host.Netlink().LinkByName(attrs.Name)
	must(w.t, err)
	must(w.t, w.host.Netlink().LinkSetIP6AddrGenMode(hostEnd, in6AddrGenModeNone))
	must(w.t, w.host.Netlink().LinkSetUp(hostEnd))
	w.l.Up(ns, "eth0")
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
