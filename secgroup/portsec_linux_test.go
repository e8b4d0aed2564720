package secgroup

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/arp"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

// openDesired lets B receive any UDP and ARP from everyone.
func openDesired(ps ...port.Port) Desired {
	return Desired{
		Groups: []SecurityGroup{group("ga", true, anyOut()...), group("gb", true, ports("udp", 1, 65535)),
			group("gc", true, anyOut()...)},
		Ports: ps,
	}
}

// staticNeigh makes h reach ip at mac without ARP, so that a test of IP
// spoofing is not also a test of ARP spoofing.
func staticNeigh(t *testing.T, h *namespace.Handle, ip netip.Addr, mac string) {
	t.Helper()
	link, err := h.Netlink().LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	hw, _ := net.ParseMAC(mac)
	n := &netlink.Neigh{LinkIndex: link.Attrs().Index, State: netlink.NUD_PERMANENT, IP: ip.AsSlice(), HardwareAddr: hw}
	if err := h.Netlink().NeighSet(n); err != nil {
		t.Fatal(err)
	}
}

func addAddr(t *testing.T, h *namespace.Handle, dev, cidr string) {
	t.Helper()
	link, err := h.Netlink().LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Netlink().AddrAdd(link, a); err != nil {
		t.Fatal(err)
	}
}

func TestSpoofedSourceIPIsDropped(t *testing.T) {
	w, a, b, c := newTrio(t)
	w.apply(openDesired(a, b, c))
	va, vb := w.vms[a.ID], w.vms[b.ID]
	staticNeigh(t, va, ipB, b.MACAddress.String())
	addAddr(t, va, "eth0", "100.64.1.99/24")
	if !udpProbe(t, va, vb, ipA, ipB, 0, 53) {
		t.Fatal("control: A's own address dropped")
	}
	if udpProbe(t, va, vb, netip.MustParseAddr("100.64.1.99"), ipB, 0, 53) {
		t.Error("a spoofed source address was delivered")
	}
	// B's address, as a spoofer would pick it.
	addAddr(t, va, "eth0", "100.64.1.30/24")
	if udpProbe(t, va, vb, ipC, ipB, 0, 53) {
		t.Error("another instance's address was delivered")
	}
}

func TestSpoofedSourceMACIsDropped(t *testing.T) {
	w, a, b, c := newTrio(t)
	w.apply(openDesired(a, b, c))
	va, vb := w.vms[a.ID], w.vms[b.ID]
	staticNeigh(t, va, ipB, b.MACAddress.String())
	setMAC := func(mac string) {
		link, err := va.Netlink().LinkByName("eth0")
		if err != nil {
			t.Fatal(err)
		}
		hw, _ := net.ParseMAC(mac)
		if err := va.Netlink().LinkSetHardwareAddr(link, hw); err != nil {
			t.Fatal(err)
		}
	}
	setMAC("fa:16:3e:00:00:99")
	if udpProbe(t, va, vb, ipA, ipB, 0, 53) {
		t.Error("a frame from a spoofed MAC was delivered")
	}
	setMAC(a.MACAddress.String())
	if !udpProbe(t, va, vb, ipA, ipB, 0, 53) {
		t.Error("control: the port's own MAC dropped")
	}
}

// TestAllowedAddressPairs: an address pair (an address, a CIDR, and an
// address with another MAC) may be sent from; without the pair it may not.
func TestAllowedAddressPairs(t *testing.T) {
	w, a, b, c := newTrio(t)
	va, vb := w.vms[a.ID], w.vms[b.ID]
	staticNeigh(t, va, ipB, b.MACAddress.String())
	addAddr(t, va, "eth0", "100.64.1.99/24")
	addAddr(t, va, "eth0", "100.64.2.5/24")
	mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: "vip0", ParentIndex: linkIndex(t, va, "eth0"),
		HardwareAddr: mustMAC("fa:16:3e:00:00:77")}, Mode: netlink.MACVLAN_MODE_BRIDGE}
	if err := va.Netlink().LinkAdd(mv); err != nil {
		t.Fatal(err)
	}
	w.l.Up(va, "vip0", "100.64.1.77/32")
	// Frames to B from the pair's address leave by vip0, with its MAC.
	if err := va.Netlink().RouteAdd(&netlink.Route{LinkIndex: linkIndex(t, va, "vip0"), Dst: &net.IPNet{IP: ipB.AsSlice(), Mask: net.CIDRMask(32, 32)},
		Src: net.IP{100, 64, 1, 77}, Table: 100}); err != nil {
		t.Fatal(err)
	}
	rule := netlink.NewRule()
	rule.Src, rule.Table = &net.IPNet{IP: net.IP{100, 64, 1, 77}, Mask: net.CIDRMask(32, 32)}, 100
	if err := va.Netlink().RuleAdd(rule); err != nil {
		t.Fatal(err)
	}
	if err := va.Netlink().NeighSet(&netlink.Neigh{LinkIndex: linkIndex(t, va, "vip0"), State: netlink.NUD_PERMANENT,
		IP: ipB.AsSlice(), HardwareAddr: b.MACAddress.HardwareAddr()}); err != nil {
		t.Fatal(err)
	}
	vip, cidrSrc, extra := netip.MustParseAddr("100.64.1.77"), netip.MustParseAddr("100.64.2.5"), netip.MustParseAddr("100.64.1.99")

	w.apply(openDesired(a, b, c))
	for _, src := range []netip.Addr{extra, cidrSrc, vip} {
		if udpProbe(t, va, vb, src, ipB, 0, 53) {
			t.Errorf("without an address pair, %s was delivered", src)
		}
	}
	a.AllowedAddressPairs = []port.AddressPair{
		{IPAddress: netip.MustParsePrefix("100.64.1.99/32")},
		{IPAddress: netip.MustParsePrefix("100.64.2.0/24")},
		{IPAddress: netip.MustParsePrefix("100.64.1.77/32"), MACAddress: port.MustParseMAC("fa:16:3e:00:00:77")},
	}
	rep := w.apply(openDesired(a, b, c))
	if rep.Created["chain"] != 0 || rep.Updated["chain"] != 0 {
		t.Errorf("address pairs changed chains: %v", rep.Changes)
	}
	for _, src := range []netip.Addr{extra, cidrSrc, vip} {
		if !udpProbe(t, va, vb, src, ipB, 0, 53) {
			t.Errorf("address pair %s dropped", src)
		}
	}
}

func linkIndex(t *testing.T, h *namespace.Handle, dev string) int {
	t.Helper()
	l, err := h.Netlink().LinkByName(dev)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Index
}

func mustMAC(s string) net.HardwareAddr {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return hw
}

// arpProbe reports whether an ARP request from from claiming senderIP
// reaches to.
func arpProbe(t *testing.T, from, to *namespace.Handle, senderIP, marker netip.Addr) bool {
	t.Helper()
	dial := func(h *namespace.Handle) *arp.Client {
		var c *arp.Client
		if err := h.Do(func() error {
			ifi, err := net.InterfaceByName("eth0")
			if err != nil {
				return err
			}
			c, err = arp.Dial(ifi)
			return err
		}); err != nil {
			t.Fatalf("arp dial: %v", err)
		}
		return c
	}
	tx, rx := dial(from), dial(to)
	defer tx.Close()
	defer rx.Close()
	p, err := arp.NewPacket(arp.OperationRequest, tx.HardwareAddr(), senderIP, net.HardwareAddr{0, 0, 0, 0, 0, 0}, marker)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := tx.WriteTo(p, net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); err != nil {
			t.Fatal(err)
		}
	}
	_ = rx.SetReadDeadline(time.Now().Add(probeWait))
	for {
		got, _, err := rx.Read()
		if err != nil {
			return false
		}
		if got.TargetIP == marker && got.SenderIP == senderIP {
			return true
		}
	}
}

func TestARPSpoofingIsBlocked(t *testing.T) {
	w, a, b, c := newTrio(t)
	w.apply(openDesired(a, b, c))
	va, vc := w.vms[a.ID], w.vms[c.ID]
	if !arpProbe(t, va, vc, ipA, netip.MustParseAddr("100.64.1.201")) {
		t.Fatal("control: ARP from the port's own address dropped")
	}
	if !arpProbe(t, va, vc, netip.IPv4Unspecified(), netip.MustParseAddr("100.64.1.202")) {
		t.Error("an ARP probe (sender 0.0.0.0) was dropped")
	}
	if arpProbe(t, va, vc, ipB, netip.MustParseAddr("100.64.1.203")) {
		t.Error("ARP claiming B's address was delivered")
	}
}

func TestPortSecurityDisabledAcceptsAll(t *testing.T) {
	w, a, b, c := newTrio(t)
	va, vb, vc := w.vms[a.ID], w.vms[b.ID], w.vms[c.ID]
	off := false
	b.PortSecurityEnabled, b.SecurityGroups = &off, nil
	a.PortSecurityEnabled, a.SecurityGroups = &off, nil
	d := openDesired(a, b, c)
	d.Groups[1].Rules = nil // nothing would let traffic into B if it were filtered
	w.apply(d)
	if !tcpProbe(t, vc, vb, ipB, 22) {
		t.Error("ingress to a port without port security dropped")
	}
	staticNeigh(t, va, ipB, b.MACAddress.String())
	addAddr(t, va, "eth0", "100.64.1.99/24")
	if !udpProbe(t, va, vb, netip.MustParseAddr("100.64.1.99"), ipB, 0, 53) {
		t.Error("any source address of a port without port security should pass")
	}
}

// TestDHCPServerOnInstanceCannotAnswer: replies from UDP port 67 (68 is
// DHCP client) leaving an instance are dropped; the same packet from a
// port without port security (a trusted DHCP port) arrives.
func TestDHCPServerOnInstanceCannotAnswer(t *testing.T) {
	w, a, b, c := newTrio(t)
	va, vb := w.vms[a.ID], w.vms[b.ID]
	w.apply(openDesired(a, b, c))
	for _, dst := range []netip.Addr{ipB, netip.MustParseAddr("255.255.255.255")} {
		if udpProbe(t, va, vb, ipA, dst, 67, 68) {
			t.Errorf("a DHCP reply from an instance to %s was delivered", dst)
		}
	}
	if udpProbe(t, va, vb, ip6A, ip6B, 547, 546) {
		t.Error("a DHCPv6 reply from an instance was delivered")
	}
	a.DeviceOwner = port.OwnerDHCP
	w.apply(openDesired(a, b, c))
	if !udpProbe(t, va, vb, ipA, ipB, 67, 68) {
		t.Error("control: a DHCP reply from a DHCP port dropped")
	}
}

// TestRogueRouterAdvertisementIsDropped: an RA from an instance does not
// reach its neighbours; a neighbour solicitation does.
func TestRogueRouterAdvertisementIsDropped(t *testing.T) {
	w, a, b, c := newTrio(t)
	w.apply(openDesired(a, b, c))
	va, vb := w.vms[a.ID], w.vms[b.ID]
	allNodes := netip.MustParseAddr("ff02::1").WithZone("eth0")
	if !icmpProbe(t, va, vb, allNodes, 135, 0) {
		t.Fatal("control: neighbour solicitation to all nodes dropped")
	}
	if icmpProbe(t, va, vb, allNodes, 134, 0) {
		t.Error("a router advertisement from an instance was delivered")
	}
}

// TestRogueDnsmasqGivesNoLease: a real DHCP server (dnsmasq) on an
// instance, whose group even lets DHCP requests in, leases nothing to a
// real client (udhcpc) on its neighbour; the same server on a DHCP port
// does.
func TestRogueDnsmasqGivesNoLease(t *testing.T) {
	lab.RequireCmd(t, "dnsmasq", "busybox")
	w, a, b, c := newTrio(t)
	va, vb := w.vms[a.ID], w.vms[b.ID]
	dir := t.TempDir()
	w.l.Start(va, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--user=root",
		"--interface=eth0", "--bind-interfaces", "--dhcp-range=100.64.1.100,100.64.1.150,255.255.255.0,1h",
		"--dhcp-leasefile="+dir+"/leases", "--pid-file="+dir+"/pid", "--dhcp-authoritative")
	d := openDesired(a, b, c)
	d.Groups[0] = group("ga", true, append(anyOut(), ports("udp", 67, 67))...)
	lease := func() bool {
		out, err := w.l.Run(vb, 20*time.Second, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3", "-T", "1", "-s", "/bin/true")
		t.Logf("udhcpc: %v\n%s", err, out)
		return err == nil && strings.Contains(out, "lease of")
	}
	w.apply(d)
	if lease() {
		t.Error("a DHCP server on an instance leased an address to its neighbour")
	}
	a.DeviceOwner = port.OwnerDHCP
	d.Ports[0] = a
	w.apply(d)
	if !lease() {
		t.Error("control: the DHCP server on a DHCP port gave no lease")
	}
}
