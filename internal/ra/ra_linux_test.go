package ra

import (
	"net"
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/namespace"
)

func TestMain(m *testing.M) { lab.Main(m) }

// pair is a router namespace and a guest namespace joined by a veth:
// qr0 in the router, eth0 in the guest, whose kernel does SLAAC
// (accept_ra=1, autoconf=1, forwarding off: a new namespace's defaults,
// set again so the test does not depend on them).
type pair struct {
	l             *lab.Lab
	router, guest *namespace.Handle
	qr            netlink.Link
	guestMAC      net.HardwareAddr
	srv           *Server
}

func newPair(t *testing.T) *pair {
	lab.RequireRoot(t)
	l := lab.New(t)
	p := &pair{l: l, router: l.Namespace("router"), guest: l.Namespace("guest")}
	require.NoError(t, p.router.Sysctl("net.ipv6.conf.all.forwarding", "1"))
	for _, k := range []string{"net.ipv6.conf.default.accept_ra", "net.ipv6.conf.default.autoconf"} {
		require.NoError(t, p.guest.Sysctl(k, "1"))
	}
	l.Link(p.router, "qr0", nil, p.guest, "eth0", nil)
	var err error
	p.qr, err = p.router.Netlink().LinkByName("qr0")
	require.NoError(t, err)
	eth0, err := p.guest.Netlink().LinkByName("eth0")
	require.NoError(t, err)
	p.guestMAC = eth0.Attrs().HardwareAddr
	tm := DefaultTiming()
	tm.MaxResponseDelay = 50 * time.Millisecond
	p.srv, err = NewServer(WithTiming(tm))
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

func (p *pair) link(t *testing.T, prefixes ...Prefix) Link {
	mac := p.qr.Attrs().HardwareAddr
	lla, err := ipam.SLAAC(netip.MustParsePrefix("fe80::/64"), mac)
	require.NoError(t, err)
	return Link{MAC: mac, Source: lla, MTU: 1400, Prefixes: prefixes, Domain: "example.test"}
}

// guestDefault returns the gateway of the guest's IPv6 default route
// (invalid when there is none), read with netlink inside the guest.
func (p *pair) guestDefault(t *testing.T) netip.Addr {
	routes, err := p.guest.Netlink().RouteListFiltered(netlink.FAMILY_V6, &netlink.Route{Dst: &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}}, netlink.RT_FILTER_DST)
	require.NoError(t, err)
	for _, r := range routes {
		if a, ok := netip.AddrFromSlice(r.Gw); ok {
			return a
		}
		for _, nh := range r.MultiPath {
			if a, ok := netip.AddrFromSlice(nh.Gw); ok {
				return a
			}
		}
	}
	return netip.Addr{}
}

func (p *pair) guestHas(t *testing.T, a netip.Addr) bool {
	eth0, err := p.guest.Netlink().LinkByName("eth0")
	require.NoError(t, err)
	addrs, err := p.guest.Netlink().AddrList(eth0, netlink.FAMILY_V6)
	require.NoError(t, err)
	for _, x := range addrs {
		if got, _ := netip.AddrFromSlice(x.IP); got == a {
			return true
		}
	}
	return false
}

// The kernel's own SLAAC, fed by our RAs through a real socket, forms the
// EUI-64 address and a default route via the router's link-local address;
// the final RA takes the route away at once.
func TestKernelSLAACAndFinalRA(t *testing.T) {
	p := newPair(t)
	prefix := netip.MustParsePrefix("2001:db8:1::/64")
	l := p.link(t, Prefix{CIDR: prefix, Mode: SLAAC})
	require.NoError(t, p.srv.Advertise(p.router, "g", "qr0", p.qr.Attrs().Index, l))

	want, err := ipam.SLAAC(prefix, p.guestMAC)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.guestHas(t, want) }, 15*time.Second, 50*time.Millisecond, "guest never formed %s", want)
	require.Eventually(t, func() bool { return p.guestDefault(t) == l.Source }, 15*time.Second, 50*time.Millisecond)

	require.NoError(t, p.srv.Withdraw("g", "qr0"))
	require.Eventually(t, func() bool { return !p.guestDefault(t).IsValid() }, 5*time.Second, 20*time.Millisecond,
		"default route still there after the final RA")
}

// rdisc6, a real ND client, solicits and reads what the RA says.
func TestRdisc6SeesFlagsPrefixRDNSSDNSSLAndMTU(t *testing.T) {
	lab.RequireCmd(t, "rdisc6")
	p := newPair(t)
	l := p.link(t,
		Prefix{CIDR: netip.MustParsePrefix("2001:db8:1::/64"), Mode: SLAAC, DNS: []netip.Addr{netip.MustParseAddr("2001:db8::53")}},
		Prefix{CIDR: netip.MustParsePrefix("2001:db8:2::/64"), Mode: DHCPv6Stateful})
	require.NoError(t, p.srv.Advertise(p.router, "g", "qr0", p.qr.Attrs().Index, l))
	// The guest's link-local address must be usable before rdisc6 can send.
	require.Eventually(t, func() bool {
		out, err := p.l.Run(p.guest, 10*time.Second, "rdisc6", "-1", "-w", "2000", "eth0")
		return err == nil && regexp.MustCompile(`Router lifetime\s*:\s*\d+`).MatchString(out)
	}, 20*time.Second, 200*time.Millisecond)
	out := p.l.MustRun(p.guest, "rdisc6", "-1", "-w", "2000", "eth0")
	t.Log(out)
	for _, re := range []string{
		`Stateful address conf\.\s*:\s*Yes`,
		`Stateful other conf\.\s*:\s*No`,
		`Router lifetime\s*:\s*300 `,
		`MTU\s*:\s*1400 bytes`,
		`Prefix\s*:\s*2001:db8:1::/64\s+On-link\s*:\s*Yes\s+Autonomous address conf\.\s*:\s*Yes`,
		`Prefix\s*:\s*2001:db8:2::/64\s+On-link\s*:\s*Yes\s+Autonomous address conf\.\s*:\s*No`,
		`Recursive DNS server\s*:\s*2001:db8::53`,
		`DNS search list\s*:\s*example\.test`,
		`from ` + regexp.QuoteMeta(l.Source.String()),
	} {
		require.Regexp(t, re, out)
	}
}
