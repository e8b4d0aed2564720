package router

import (
	"net"
	"net/netip"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/ra"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// slaacGuest makes a namespace whose kernel autoconfigures from RAs
// (accept_ra=1, autoconf=1, no forwarding), plugged into network netID
// with MAC mac and no address of its own.
func (f *fixture) slaacGuest(name, netID string, mac net.HardwareAddr) *namespace.Handle {
	f.t.Helper()
	h := f.l.Namespace(name)
	for _, k := range []string{"net.ipv6.conf.default.accept_ra", "net.ipv6.conf.default.autoconf"} {
		require.NoError(f.t, h.Sysctl(k, "1"))
	}
	f.plug(h, "eth0", netID, mac, "")
	return h
}

// defaultV6 returns the gateway of h's IPv6 default route, read with
// netlink inside h; invalid when there is none.
func defaultV6(t *testing.T, h *namespace.Handle) netip.Addr {
	routes, err := h.Netlink().RouteListFiltered(netlink.FAMILY_V6,
		&netlink.Route{Dst: &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}}, netlink.RT_FILTER_DST)
	require.NoError(t, err)
	for _, r := range routes {
		if a, ok := netip.AddrFromSlice(r.Gw); ok {
			return a
		}
	}
	return netip.Addr{}
}

// v6Addrs returns the IPv6 addresses on dev in h that are usable: not
// tentative (duplicate address detection still running).
func v6Addrs(t *testing.T, h *namespace.Handle, dev string) []netip.Addr {
	l, err := h.Netlink().LinkByName(dev)
	require.NoError(t, err)
	addrs, err := h.Netlink().AddrList(l, netlink.FAMILY_V6)
	require.NoError(t, err)
	var out []netip.Addr
	for _, a := range addrs {
		if a.Flags&syscall.IFA_F_TENTATIVE != 0 {
			continue
		}
		x, _ := netip.AddrFromSlice(a.IP)
		out = append(out, x)
	}
	return out
}

// rdisc6 solicits from h's eth0 until a router answers and returns what
// rdisc6 printed.
func (f *fixture) rdisc6(h *namespace.Handle) string {
	f.t.Helper()
	var out string
	require.Eventually(f.t, func() bool {
		var err error
		out, err = f.l.Run(h, 10*time.Second, "rdisc6", "-1", "-w", "1500", "eth0")
		return err == nil && regexp.MustCompile(`Router lifetime`).MatchString(out)
	}, 20*time.Second, 100*time.Millisecond, "no router advertisement: %s", out)
	return out
}

func countKind(rep *Report, kind string) int {
	n := 0
	for _, c := range rep.Changes {
		if regexp.MustCompile(`^\w+ ` + kind + ` `).MatchString(c) {
			n++
		}
	}
	return n
}

// A guest on a slaac subnet behind the router, with nothing configured by
// hand: the kernel's SLAAC forms exactly the EUI-64 address IPAM computes
// and a default route via the router's link-local address; rdisc6 sees
// Neutron's flags, the prefix, RDNSS, DNSSL and MTU; a mode change is one
// RA update, and removing the interface takes the guest's route away.
func TestSLAACGuestBehindRouter(t *testing.T) {
	lab.RequireCmd(t, "rdisc6")
	f := newFixture(t)
	b := f.b
	netID, sub := b.network("2001:db8:1::/64", "2001:db8:1::1", false)
	s := b.subnet(sub)
	s.IPv6RAMode, s.IPv6AddressMode = subnet.ModeSLAAC, subnet.ModeSLAAC
	s.DNSNameservers = []netip.Addr{netip.MustParseAddr("2001:db8::53")}
	rid := b.router("", "", "")
	rp := b.attach(rid, sub)
	f.bridges()
	mac := net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0a, 0x0b, 0x0c}
	guest := f.slaacGuest("vm1", netID, mac)
	r := f.realizer()

	rep := f.apply(r)
	require.Equal(t, 1, countKind(rep, "ra"), rep.Changes)

	want, err := ipam.SLAAC(s.CIDR, mac)
	require.NoError(t, err)
	routerLLA, err := ipam.SLAAC(netip.MustParsePrefix("fe80::/64"), rp.MACAddress.HardwareAddr())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return slices.Contains(v6Addrs(t, guest, "eth0"), want) }, 20*time.Second, 50*time.Millisecond,
		"the guest's kernel never formed %s", want)
	require.Eventually(t, func() bool { return defaultV6(t, guest) == routerLLA }, 20*time.Second, 50*time.Millisecond)

	out := f.rdisc6(guest)
	t.Log(out)
	for _, re := range []string{
		`Stateful address conf\.\s*:\s*No`,
		`Stateful other conf\.\s*:\s*No`,
		`Router lifetime\s*:\s*300 `,
		`MTU\s*:\s*1450 bytes`,
		`Prefix\s*:\s*2001:db8:1::/64\s+On-link\s*:\s*Yes\s+Autonomous address conf\.\s*:\s*Yes`,
		`Recursive DNS server\s*:\s*2001:db8::53`,
		`DNS search list\s*:\s*openstacklocal`,
		`from ` + regexp.QuoteMeta(routerLLA.String()),
	} {
		require.Regexp(t, re, out)
	}
	require.Zero(t, f.apply(r).Mutations(), "second Apply")

	s.IPv6RAMode, s.IPv6AddressMode = subnet.ModeDHCPv6Stateful, subnet.ModeDHCPv6Stateful
	rep = f.apply(r)
	require.Equal(t, 1, rep.Mutations(), rep.Changes)
	require.Equal(t, 1, countKind(rep, "ra"))
	require.Eventually(t, func() bool {
		out = f.rdisc6(guest)
		return regexp.MustCompile(`Stateful address conf\.\s*:\s*Yes`).MatchString(out)
	}, 10*time.Second, 100*time.Millisecond)
	require.Regexp(t, `Autonomous address conf\.\s*:\s*No`, out)

	b.d.Ports = slices.DeleteFunc(b.d.Ports, func(p port.Port) bool { return p.ID == rp.ID })
	rep = f.apply(r)
	require.Equal(t, 1, countKind(rep, "ra"), rep.Changes)
	require.Eventually(t, func() bool { return !defaultV6(t, guest).IsValid() }, 5*time.Second, 20*time.Millisecond,
		"the guest kept its default route after the final RA")
}

// Removing the whole router sends the final RA too.
func TestRemovedRouterSendsFinalRA(t *testing.T) {
	f := newFixture(t)
	b := f.b
	netID, sub := b.network("2001:db8:2::/64", "2001:db8:2::1", false)
	s := b.subnet(sub)
	s.IPv6RAMode, s.IPv6AddressMode = subnet.ModeDHCPv6Stateless, subnet.ModeDHCPv6Stateless
	rid := b.router("", "", "")
	b.attach(rid, sub)
	f.bridges()
	guest := f.slaacGuest("vm1", netID, net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0a, 0x0b, 0x0d})
	r := f.realizer()
	f.apply(r)
	require.Eventually(t, func() bool { return defaultV6(t, guest).IsValid() }, 20*time.Second, 50*time.Millisecond)

	b.d.Routers, b.d.Ports = nil, nil
	rep := f.apply(r)
	require.Equal(t, 1, countKind(rep, "ra"), rep.Changes)
	require.Eventually(t, func() bool { return !defaultV6(t, guest).IsValid() }, 5*time.Second, 20*time.Millisecond)
}

// A gateway on an external IPv6 subnet without gateway_ip learns its
// default route from the upstream router's RAs (accept_ra=2, as Neutron
// sets it), without forming an address of its own from the upstream
// prefix; the upstream router here is another ra.Server.
func TestGatewayLearnsDefaultRouteFromUpstreamRA(t *testing.T) {
	f := newFixture(t)
	b := f.b
	extNet, extSub := b.network("2001:db8:ff::/64", "", true)
	rid := b.router(extNet, extSub, "2001:db8:ff::10")
	f.bridges()
	upMAC := net.HardwareAddr{0x02, 0, 0, 0, 0xff, 1}
	up := f.l.Namespace("upstream")
	f.plug(up, "eth0", extNet, upMAC, "")
	upLink, err := up.Netlink().LinkByName("eth0")
	require.NoError(t, err)
	upLLA, _ := ipam.SLAAC(netip.MustParsePrefix("fe80::/64"), upMAC)
	upRA, err := ra.NewServer()
	require.NoError(t, err)
	t.Cleanup(func() { _ = upRA.Close() })
	require.NoError(t, upRA.Advertise(up, "up", "eth0", upLink.Attrs().Index, ra.Link{MAC: upMAC, Source: upLLA,
		Prefixes: []ra.Prefix{{CIDR: netip.MustParsePrefix("2001:db8:ff::/64"), Mode: ra.SLAAC}}}))

	r := f.realizer()
	rep := f.apply(r)
	require.Zero(t, countKind(rep, "ra"), "a gateway advertises nothing")
	rns := f.routerNS(rid)
	var qg string
	for _, p := range b.d.Ports {
		if p.DeviceOwner == port.OwnerRouterGateway {
			qg = "qg-" + p.ID[:11]
		}
	}
	acceptRA, err := rns.ReadSysctl("net.ipv6.conf." + qg + ".accept_ra")
	require.NoError(t, err)
	require.Equal(t, "2", acceptRA)
	// The upstream router answers the solicitation the gateway sends when
	// it comes up; its periodic RAs would do, later.
	require.Eventually(t, func() bool { return defaultV6(t, rns) == upLLA }, 20*time.Second, 50*time.Millisecond)
	require.Equal(t, []netip.Addr{netip.MustParseAddr("2001:db8:ff::10")}, globalOnly(v6Addrs(t, rns, qg)),
		"no address formed from the upstream prefix")
	require.Zero(t, f.apply(r).Mutations(), "the learnt route and settings are left alone")

	// With a gateway_ip, the static route serves and RAs are not accepted.
	b.subnet(extSub).GatewayIP, b.subnet(extSub).NoGateway = netip.MustParseAddr("2001:db8:ff::1"), false
	f.apply(r)
	acceptRA, err = rns.ReadSysctl("net.ipv6.conf." + qg + ".accept_ra")
	require.NoError(t, err)
	require.Equal(t, "0", acceptRA)
	require.Zero(t, f.apply(r).Mutations())
}

func globalOnly(addrs []netip.Addr) []netip.Addr {
	return slices.DeleteFunc(addrs, func(a netip.Addr) bool { return a.IsLinkLocalUnicast() })
}

// A SLAAC guest reaches an upstream host over IPv6 through the router's
// static IPv6 default route (the external subnet's gateway_ip), without
// NAT, configured by nothing but the router's advertisements.
func TestSLAACGuestReachesUpstreamOverIPv6(t *testing.T) {
	f := newFixture(t)
	b := f.b
	extNet, extSub := b.network("2001:db8:ff::/64", "2001:db8:ff::fe", true)
	netID, sub := b.network("2001:db8:1::/64", "2001:db8:1::1", false)
	setModes(b.subnet(sub), subnet.ModeSLAAC, subnet.ModeSLAAC)
	rid := b.router(extNet, extSub, "2001:db8:ff::10")
	b.attach(rid, sub)
	f.bridges()
	up := f.l.Namespace("upstream")
	f.plug(up, "eth0", extNet, nil, "", "2001:db8:ff::fe/64")
	f.l.Route(up, "2001:db8:1::/64", "2001:db8:ff::10")
	mac := net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0a, 0x0b, 0x0e}
	guest := f.slaacGuest("vm1", netID, mac)
	srv := serve(t, up, "upstream", "[2001:db8:ff::fe]:8080")
	r := f.realizer()
	f.apply(r)
	want, _ := ipam.SLAAC(b.subnet(sub).CIDR, mac)
	require.Eventually(t, func() bool {
		return slices.Contains(v6Addrs(t, guest, "eth0"), want) && defaultV6(t, guest).IsValid()
	}, 20*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		_, err := f.l.Run(guest, 5*time.Second, "ping", "-6", "-c", "1", "-W", "1", "2001:db8:ff::fe")
		return err == nil
	}, 10*time.Second, 100*time.Millisecond, "ping6 from the guest to upstream")
	require.Equal(t, "upstream", greet(t, guest, "[2001:db8:ff::fe]:8080"))
	require.Equal(t, want.String(), srv.last(), "IPv6 is not translated")
}

// An IPv6 gateway address that moves to another router is announced with
// unsolicited neighbour advertisements (override flag): upstream's
// neighbour entry follows it at once, not after its reachability timeout.
func TestMovedIPv6GatewayAddressIsAnnounced(t *testing.T) {
	f := newFixture(t)
	b := f.b
	extNet, extSub := b.network("2001:db8:ff::/64", "2001:db8:ff::fe", true)
	r1 := b.router(extNet, extSub, "2001:db8:ff::10")
	f.bridges()
	up := f.l.Namespace("upstream")
	f.plug(up, "eth0", extNet, nil, "", "2001:db8:ff::fe/64")
	r := f.realizer()
	f.apply(r)
	gwMAC := func() net.HardwareAddr {
		for _, p := range b.d.Ports {
			if p.DeviceOwner == port.OwnerRouterGateway {
				return p.MACAddress.HardwareAddr()
			}
		}
		return nil
	}
	old := gwMAC()
	require.Eventually(t, func() bool {
		_, err := f.l.Run(up, 5*time.Second, "ping", "-6", "-c", "1", "-W", "1", "2001:db8:ff::10")
		return err == nil
	}, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, old, neighbourMAC(t, up, "2001:db8:ff::10"))

	// The address moves: router 1 goes, router 2 takes its gateway address.
	b.d.Routers, b.d.Ports = nil, nil
	b.router(extNet, extSub, "2001:db8:ff::10")
	moved := gwMAC()
	require.NotEqual(t, old, moved)
	rep := f.apply(r)
	require.Equal(t, 1, countKind(rep, "na"), rep.Changes)
	require.Eventually(t, func() bool { return slices.Equal(neighbourMAC(t, up, "2001:db8:ff::10"), moved) }, 5*time.Second, 20*time.Millisecond,
		"upstream still sends %s to router %s's MAC", "2001:db8:ff::10", r1)
}

// neighbourMAC returns the link-layer address h's neighbour table holds
// for ip.
func neighbourMAC(t *testing.T, h *namespace.Handle, ip string) net.HardwareAddr {
	neighs, err := h.Netlink().NeighList(0, netlink.FAMILY_V6)
	require.NoError(t, err)
	want := netip.MustParseAddr(ip)
	for _, n := range neighs {
		if a, _ := netip.AddrFromSlice(n.IP); a == want {
			return n.HardwareAddr
		}
	}
	return nil
}

// Removing the IPv6 subnet of a dual-stack interface (the port keeps its
// IPv4 address and its device) sends the final RA: the guest drops its IPv6
// default route at once.
func TestRemovedSubnetSendsFinalRA(t *testing.T) {
	f := newFixture(t)
	b := f.b
	netID, sub4 := b.network("100.64.1.0/24", "100.64.1.1", false)
	sub6 := b.addSubnet(netID, "2001:db8:3::/64", "2001:db8:3::1")
	setModes(b.subnet(sub6), subnet.ModeSLAAC, subnet.ModeSLAAC)
	rid := b.router("", "", "")
	b.port(rid, port.OwnerRouterInterface, netID, fixed(sub4, "100.64.1.1"), fixed(sub6, "2001:db8:3::1"))
	f.bridges()
	guest := f.slaacGuest("vm1", netID, net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0a, 0x0b, 0x0f})
	r := f.realizer()
	f.apply(r)
	require.Eventually(t, func() bool { return defaultV6(t, guest).IsValid() }, 20*time.Second, 50*time.Millisecond)

	p := &b.d.Ports[len(b.d.Ports)-1]
	p.FixedIPs = p.FixedIPs[:1]
	rep := f.apply(r)
	require.Equal(t, 1, countKind(rep, "ra"), rep.Changes)
	require.Eventually(t, func() bool { return !defaultV6(t, guest).IsValid() }, 5*time.Second, 20*time.Millisecond)
	require.Zero(t, f.apply(r).Mutations())
}

// A router namespace deleted by hand is made again by the next Apply, and
// its interfaces advertise again from sockets in the new namespace (the
// devices may get the indexes they had): guests' solicitations are
// answered.
func TestRAResumesInANamespaceMadeAgain(t *testing.T) {
	lab.RequireCmd(t, "rdisc6")
	f := newFixture(t)
	b := f.b
	netID, sub := b.network("2001:db8:4::/64", "2001:db8:4::1", false)
	setModes(b.subnet(sub), subnet.ModeSLAAC, subnet.ModeSLAAC)
	rid := b.router("", "", "")
	b.attach(rid, sub)
	f.bridges()
	guest := f.slaacGuest("vm1", netID, net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0a, 0x0c, 0x01})
	r := f.realizer()
	f.apply(r)
	f.rdisc6(guest)

	require.NoError(t, namespace.NewManager(f.l.NodePrefix("n1")).Delete(naming.RouterNamespace(rid)))
	rep := f.apply(r)
	require.Equal(t, 1, countKind(rep, "ra"), rep.Changes)
	out := f.rdisc6(guest)
	require.Regexp(t, `Prefix\s*:\s*2001:db8:4::/64`, out)
	require.Zero(t, f.apply(r).Mutations())
}

// After a restart the process does not know what the interfaces
// advertised; an interface or a router that goes still sends a final RA,
// and guests drop their default route at once. Close itself sends none:
// guests keep their route through the restart.
func TestFinalRAAfterRestart(t *testing.T) {
	f := newFixture(t)
	b := f.b
	net1, sub1 := b.network("2001:db8:5::/64", "2001:db8:5::1", false)
	net2, sub2 := b.network("2001:db8:6::/64", "2001:db8:6::1", false)
	setModes(b.subnet(sub1), subnet.ModeSLAAC, subnet.ModeSLAAC)
	setModes(b.subnet(sub2), subnet.ModeSLAAC, subnet.ModeSLAAC)
	rid := b.router("", "", "")
	p1 := b.attach(rid, sub1)
	b.attach(rid, sub2)
	f.bridges()
	g1 := f.slaacGuest("vm1", net1, net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0a, 0x0d, 0x01})
	g2 := f.slaacGuest("vm2", net2, net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0a, 0x0d, 0x02})
	r := f.realizer()
	f.apply(r)
	for _, g := range []*namespace.Handle{g1, g2} {
		require.Eventually(t, func() bool { return defaultV6(t, g).IsValid() }, 20*time.Second, 50*time.Millisecond)
	}
	require.NoError(t, r.Close())
	r = f.realizer()

	// The interface on network 1 goes.
	b.d.Ports = slices.DeleteFunc(b.d.Ports, func(p port.Port) bool { return p.ID == p1.ID })
	rep := f.apply(r)
	require.Equal(t, 2, countKind(rep, "ra"), "network 2's interface advertises again, network 1's says goodbye: %v", rep.Changes)
	require.Eventually(t, func() bool { return !defaultV6(t, g1).IsValid() }, 5*time.Second, 20*time.Millisecond)
	require.True(t, defaultV6(t, g2).IsValid(), "network 2's guest keeps its route")

	// Restart again; the whole router goes.
	require.NoError(t, r.Close())
	r = f.realizer()
	b.d.Routers, b.d.Ports = nil, nil
	rep = f.apply(r)
	require.Equal(t, 1, countKind(rep, "ra"), rep.Changes)
	require.Eventually(t, func() bool { return !defaultV6(t, g2).IsValid() }, 5*time.Second, 20*time.Millisecond)
}
