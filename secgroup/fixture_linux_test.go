package secgroup

import (
	"context"
	"net"
	"net/netip"
	"strconv"
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

// world is a node for privileged tests: a lab "host" namespace with a
// bridge per network and instance namespaces plugged into them by veth
// pairs named like the port realizer names them (tap<port11> in the host,
// eth0 in the instance, with the port's MAC).
type world struct {
	t     *testing.T
	l     *lab.Lab
	host  *namespace.Handle
	r     *Realizer
	vms   map[string]*namespace.Handle // port ID -> instance namespace
	ports map[string]port.Port
	nets  map[string]bool
}

func newWorld(t *testing.T, opts ...Option) *world {
	t.Helper()
	l := lab.New(t)
	w := &world{t: t, l: l, host: l.Namespace("host"), vms: map[string]*namespace.Handle{},
		ports: map[string]port.Port{}, nets: map[string]bool{}}
	r, err := NewRealizer(w.host, opts...)
	if err != nil {
		t.Fatal(err)
	}
	w.r = r
	return w
}

// network creates the bridge of a network in the host.
func (w *world) network(id string) {
	w.t.Helper()
	if w.nets[id] {
		return
	}
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: naming.Bridge(id)}}
	if err := w.host.Netlink().LinkAdd(br); err != nil {
		w.t.Fatalf("bridge %s: %v", br.Name, err)
	}
	w.noIPv6(br.Name)
	if err := w.host.Netlink().LinkSetUp(br); err != nil {
		w.t.Fatal(err)
	}
	w.nets[id] = true
}

func (w *world) noIPv6(dev string) {
	w.t.Helper()
	if err := w.host.Sysctl("net/ipv6/conf/"+dev+"/disable_ipv6", "1"); err != nil {
		w.t.Fatal(err)
	}
}

// plug creates port p's instance: a namespace with eth0 (p's MAC, the
// given CIDR addresses) whose peer tap<port11> is in p's network's bridge.
func (w *world) plug(p port.Port, addrs ...string) *namespace.Handle {
	w.t.Helper()
	w.network(p.NetworkID)
	vm := w.l.Namespace("vm-" + p.ID[:min(8, len(p.ID))])
	for _, k := range []string{"net/ipv6/conf/all/accept_dad", "net/ipv6/conf/default/accept_dad"} {
		if err := vm.Sysctl(k, "0"); err != nil {
			w.t.Fatal(err)
		}
	}
	tap := naming.Tap(p.ID)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: tap}, PeerName: "eth0",
		PeerHardwareAddr: p.MACAddress.HardwareAddr(), PeerNamespace: netlink.NsFd(vm.Fd())}
	if err := w.host.Netlink().LinkAdd(veth); err != nil {
		w.t.Fatalf("veth %s: %v", tap, err)
	}
	w.noIPv6(tap)
	link, err := w.host.Netlink().LinkByName(tap)
	if err != nil {
		w.t.Fatal(err)
	}
	br, err := w.host.Netlink().LinkByName(naming.Bridge(p.NetworkID))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.host.Netlink().LinkSetMaster(link, br); err != nil {
		w.t.Fatal(err)
	}
	if err := w.host.Netlink().LinkSetUp(link); err != nil {
		w.t.Fatal(err)
	}
	w.l.Up(vm, "eth0", addrs...)
	waitOperUp(w.t, w.host, tap)
	waitOperUp(w.t, vm, "eth0")
	w.vms[p.ID] = vm
	w.ports[p.ID] = p
	return vm
}

// waitOperUp waits for dev's carrier to be seen: the kernel applies carrier
// changes, and so bridge port states, from a deferred work item (linkwatch,
// up to a second later), and a frame sent before is dropped by the bridge.
func waitOperUp(t *testing.T, h *namespace.Handle, dev string) {
	t.Helper()
	for range 300 {
		l, err := h.Netlink().LinkByName(dev)
		if err != nil {
			t.Fatal(err)
		}
		if l.Attrs().OperState == netlink.OperUp {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s in %s: carrier not up after 3s", dev, h.Name())
}

// apply applies d and fails the test on error.
func (w *world) apply(d Desired) *Report {
	w.t.Helper()
	rep, err := w.r.Apply(context.Background(), d)
	if err != nil {
		w.t.Fatalf("apply: %v", err)
	}
	return rep
}

// nft runs the nft tool in the host namespace.
func (w *world) nft(args ...string) string {
	w.t.Helper()
	return w.l.MustRun(w.host, append([]string{"nft"}, args...)...)
}

// mkPort builds a port for tests.
func mkPort(id, network, mac string, groups []string, ips ...string) port.Port {
	p := port.Port{ID: id, NetworkID: network, MACAddress: port.MustParseMAC(mac), DeviceOwner: "compute:nova", SecurityGroups: groups}
	for _, ip := range ips {
		p.FixedIPs = append(p.FixedIPs, port.FixedIP{IPAddress: netip.MustParseAddr(ip)})
	}
	return p
}

// cidrs returns the fixed IPs of p as CIDR addresses for an instance
// interface (/24 for IPv4, /64 for IPv6).
func cidrs(p port.Port) []string {
	var out []string
	for _, ip := range p.FixedIPs {
		if ip.IPAddress.Is4() {
			out = append(out, ip.IPAddress.String()+"/24")
		} else {
			out = append(out, ip.IPAddress.String()+"/64")
		}
	}
	return out
}

const probeWait = 400 * time.Millisecond

// tcpProbe reports whether from can open a TCP connection to dst:port,
// served by a listener in to.
func tcpProbe(t *testing.T, from, to *namespace.Handle, dst netip.Addr, port int) bool {
	t.Helper()
	var ln net.Listener
	if err := to.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(dst, uint16(port)).String())
		return err
	}); err != nil {
		t.Fatalf("listen %s:%d: %v", dst, port, err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var ok bool
	_ = from.Do(func() error {
		c, err := (&net.Dialer{Timeout: probeWait}).Dial("tcp", netip.AddrPortFrom(dst, uint16(port)).String())
		if err == nil {
			ok = true
			c.Close()
		}
		return nil
	})
	return ok
}

// tcpReaches is tcpProbe for a connection that must succeed: the first
// packets between two fresh namespaces wait for ARP, which on a loaded
// machine can outlast one probeWait, so it tries a few times.
func tcpReaches(t *testing.T, from, to *namespace.Handle, dst netip.Addr, port int) bool {
	t.Helper()
	for range 5 {
		if tcpProbe(t, from, to, dst, port) {
			return true
		}
	}
	return false
}

// udpProbe reports whether a datagram from from (source port sport, 0 for
// any) reaches a socket in to bound to dst:port.
func udpProbe(t *testing.T, from, to *namespace.Handle, src, dst netip.Addr, sport, port int) bool {
	t.Helper()
	var rx *net.UDPConn
	if err := to.Do(func() (err error) {
		rx, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, uint16(port))))
		return err
	}); err != nil {
		t.Fatalf("listen udp %s:%d: %v", dst, port, err)
	}
	defer rx.Close()
	var tx *net.UDPConn
	if err := from.Do(func() (err error) {
		var laddr *net.UDPAddr
		if src.IsValid() || sport != 0 {
			if !src.IsValid() {
				src = netip.IPv6Unspecified()
				if dst.Is4() {
					src = netip.IPv4Unspecified()
				}
			}
			laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, uint16(sport)))
		}
		tx, err = net.ListenUDP("udp", laddr)
		return err
	}); err != nil {
		t.Fatalf("udp sender: %v", err)
	}
	defer tx.Close()
	nonce := "probe-" + time.Now().Format(time.RFC3339Nano)
	// A few copies: the first may wait for ARP or neighbour discovery.
	for range 3 {
		if _, err := tx.WriteToUDP([]byte(nonce), net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, uint16(port)))); err != nil {
			return false
		}
	}
	buf := make([]byte, 1500)
	deadline := time.Now().Add(probeWait)
	for {
		_ = rx.SetReadDeadline(deadline)
		n, _, err := rx.ReadFromUDP(buf)
		if err != nil {
			return false
		}
		if strings.HasPrefix(string(buf[:n]), nonce) {
			return true
		}
	}
}

// icmpProbe reports whether an ICMP (or ICMPv6) message of the given type
// and code sent from from reaches a raw socket in to.
func icmpProbe(t *testing.T, from, to *namespace.Handle, dst netip.Addr, typ, code uint8) bool {
	t.Helper()
	network := "ip4:icmp"
	if dst.Is6() {
		network = "ip6:ipv6-icmp"
	}
	var rx, tx net.PacketConn
	if err := to.Do(func() (err error) { rx, err = net.ListenPacket(network, ""); return err }); err != nil {
		t.Fatalf("icmp listen: %v", err)
	}
	defer rx.Close()
	if err := from.Do(func() (err error) { tx, err = net.ListenPacket(network, ""); return err }); err != nil {
		t.Fatalf("icmp sender: %v", err)
	}
	defer tx.Close()
	nonce := []byte(time.Now().Format(time.RFC3339Nano))
	id := uint16(time.Now().UnixNano())
	msg := append([]byte{typ, code, 0, 0, byte(id >> 8), byte(id), 0, 1}, nonce...)
	if dst.Is4() { // the kernel computes ICMPv6 checksums itself
		sum := icmpChecksum(msg)
		msg[2], msg[3] = byte(sum>>8), byte(sum)
	}
	// Go resolves a zone name to an index in the calling thread's
	// namespace (and caches it for a minute), not in the socket's: name
	// the sender's own index instead.
	zone := dst.Zone()
	if zone != "" {
		if err := from.Do(func() error {
			ifi, err := net.InterfaceByName(zone)
			if err == nil {
				zone = strconv.Itoa(ifi.Index)
			}
			return err
		}); err != nil {
			t.Fatalf("icmp zone %s: %v", zone, err)
		}
	}
	for range 3 {
		if _, err := tx.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice(), Zone: zone}); err != nil {
			t.Logf("icmp send to %s: %v", dst, err)
			return false
		}
	}
	buf := make([]byte, 1500)
	deadline := time.Now().Add(probeWait)
	for {
		_ = rx.SetReadDeadline(deadline)
		n, _, err := rx.ReadFrom(buf)
		if err != nil {
			return false
		}
		if n >= len(msg) && buf[0] == typ && buf[1] == code && string(buf[8:n]) == string(nonce) {
			return true
		}
	}
}

func icmpChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
