package router

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/metadata/novatest"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// mdWorld is the router world with the metadata path: the router
// realizer redirects 169.254.169.254:80 to the metadata Realizer's
// listener in the router namespace, which forwards, signed, to a Nova
// stand-in on the node namespace's loopback.
type mdWorld struct {
	*world
	md    *metadata.Realizer
	nova  *novatest.Nova
	ports []port.Port // the document's ports and the instances', with device IDs
}

const mdSecret = "metadata-test-secret"

func newMDWorld(t *testing.T) *mdWorld {
	lab.RequireRoot(t)
	lab.RequireCmd(t, "curl")
	w := &mdWorld{world: newWorld(t)}
	w.r = w.realizer(WithMetadataPort(metadata.RouterPort))
	w.apply(w.r)
	w.md, w.nova = w.metadataService()
	w.ports = append([]port.Port(nil), w.b.d.Ports...)
	for _, p := range w.instances {
		p.DeviceID, p.ProjectID = "instance-"+p.ID, "project-"+p.ID
		w.ports = append(w.ports, p)
	}
	w.applyMD(w.router)
	return w
}

// metadataService starts a Nova stand-in on the node namespace's
// loopback and a metadata Realizer forwarding to it; the stand-in checks
// signatures with mdSecret, the Realizer signs with secret (mdSecret when
// none is given).
func (f *fixture) metadataService(secret ...string) (*metadata.Realizer, *novatest.Nova) {
	t := f.t
	nova := novatest.New([]byte(mdSecret))
	var ln net.Listener
	require.NoError(t, f.host.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}))
	t.Cleanup(func() { _ = ln.Close() })
	go nova.Serve(ln)
	signWith := mdSecret
	if len(secret) > 0 {
		signWith = secret[0]
	}
	md, err := metadata.NewRealizer(metadata.Config{NovaURL: "http://" + ln.Addr().String(), SharedSecret: []byte(signWith)},
		metadata.WithPrefix(f.l.NodePrefix("n1")), metadata.WithUpstreamNamespace(f.host))
	require.NoError(t, err)
	t.Cleanup(func() { _ = md.Close() })
	return md, nova
}

func (w *mdWorld) applyMD(routers ...string) *metadata.Report {
	w.t.Helper()
	rep, err := w.md.Apply(context.Background(), metadata.Desired{Routers: routers, Ports: w.ports})
	require.NoError(w.t, err)
	return rep
}

// instancePort is the port of the instance with address ip.
func (w *mdWorld) instancePort(ip string) port.Port {
	for _, p := range w.ports {
		if p.DeviceOwner == "compute:nova" && p.FixedIPs[0].IPAddress.String() == ip {
			return p
		}
	}
	w.t.Fatalf("no instance at %s", ip)
	return port.Port{}
}

// curl fetches url from h and returns the status code and body.
func curl(t *testing.T, l *lab.Lab, h *namespace.Handle, args ...string) (string, error) {
	t.Helper()
	argv := append([]string{"curl", "-sS", "-m", "5", "-w", "\n%{http_code}"}, args...)
	return l.Run(h, 15*time.Second, argv...)
}

func TestMetadataThroughRouter(t *testing.T) {
	w := newMDWorld(t)
	for _, c := range []struct {
		vm *namespace.Handle
		ip string
	}{{w.vm1, "100.64.1.10"}, {w.vm2, "100.64.2.10"}} {
		p := w.instancePort(c.ip)
		// A forged instance ID and signature from the guest are overwritten.
		out, err := curl(t, w.l, c.vm, "-H", "X-Instance-ID: someone-else", "-H", "X-Instance-ID-Signature: forged",
			"-H", "X-Forwarded-For: 100.64.9.9", "http://169.254.169.254/openstack")
		require.NoError(t, err, out)
		assert.Equal(t, "instance="+p.DeviceID+" tenant="+p.ProjectID+"\n\n200", out)
		req, ok := w.nova.Last()
		require.True(t, ok)
		assert.Equal(t, novatest.Request{Path: "/openstack", ForwardedFor: c.ip, RouterID: w.router,
			InstanceID: p.DeviceID, TenantID: p.ProjectID, Signature: metadata.Sign([]byte(mdSecret), p.DeviceID), SignatureOK: true}, req)
	}
	st := w.md.Stats()
	assert.Equal(t, uint64(2), st.Requests["200"])
	assert.Equal(t, 1, st.Listeners)

	// A second Apply of the same state changes nothing.
	assert.Empty(t, w.applyMD(w.router).Changes)
	assert.Zero(t, w.apply(w.r).Mutations())
}

// A proxy whose shared secret is not Nova's: the stand-in refuses the
// signature with 403, the guest gets that 403, and the proxy counts it.
func TestMetadataWrongSecretRejectedByNova(t *testing.T) {
	w := newMDWorld(t)
	require.NoError(t, w.md.Close())
	w.md, w.nova = w.metadataService("not-novas-secret")
	w.applyMD(w.router)
	out, err := curl(t, w.l, w.vm1, "http://169.254.169.254/openstack")
	require.NoError(t, err, out)
	assert.True(t, strings.HasSuffix(out, "\n403"), out)
	req, ok := w.nova.Last()
	require.True(t, ok)
	assert.False(t, req.SignatureOK)
	assert.Equal(t, uint64(1), w.md.Stats().Requests["403"])
}

func TestMetadataSpoofedSourceIs404(t *testing.T) {
	w := newMDWorld(t)
	// An address no port holds, on vm1's interface.
	w.l.MustRun(w.vm1, "ip", "addr", "add", "100.64.1.99/24", "dev", "eth0")
	out, err := curl(t, w.l, w.vm1, "--interface", "100.64.1.99", "http://169.254.169.254/openstack")
	require.NoError(t, err, out)
	assert.True(t, strings.HasSuffix(out, "\n404"), out)
	assert.Contains(t, out, "router "+w.router)
	assert.Empty(t, w.nova.Requests(), "an unknown source reached Nova")
}

func TestMetadataListenerOnlyThroughRedirect(t *testing.T) {
	w := newMDWorld(t)
	// The listener's port on the gateway address, from outside: dropped.
	out, err := curl(t, w.l, w.ext, "-m", "2", "http://"+gwAddr+":9697/openstack")
	assert.Error(t, err, "the metadata listener answered from outside: %s", out)
}

func TestMetadataRouterRemovedStopsListener(t *testing.T) {
	w := newMDWorld(t)
	out, err := curl(t, w.l, w.vm1, "http://169.254.169.254/")
	require.NoError(t, err, out)
	rep := w.applyMD()
	assert.Equal(t, 1, rep.Deleted["listener"])
	assert.Zero(t, w.md.Stats().Listeners)
	out, err = curl(t, w.l, w.vm1, "http://169.254.169.254/")
	assert.Error(t, err, "answered after its router went: %s", out)

	// Back again, and the router realizer's redirect goes with the router.
	w.applyMD(w.router)
	out, err = curl(t, w.l, w.vm1, "http://169.254.169.254/")
	require.NoError(t, err, out)
	r := w.realizer(WithMetadataPort(0))
	rep2 := w.apply(r)
	assert.Contains(t, strings.Join(rep2.Changes, "\n"), "nft-table")
	out, err = curl(t, w.l, w.vm1, "-m", "2", "http://169.254.169.254/")
	assert.Error(t, err, "redirect still in place without WithMetadataPort: %s", out)
}

// IPv6 through the router, with nothing configured by hand in the guest
// but accepting RA route information (accept_ra_rt_info_max_plen=128):
// the router's RA carries the route to fe80::a9fe:a9fe via its link-local
// address, the ip6 redirect in the router's table sends the connection to
// the dual-stack listener, and Nova sees the guest's address in
// X-Forwarded-For: its EUI-64 link-local address (resolved by MAC, as
// Neutron does) when curl picks the source, its SLAAC fixed IP when curl
// binds to it. An address no port holds gets 404 and never reaches Nova.
func TestMetadataOverIPv6ThroughRouter(t *testing.T) {
	lab.RequireCmd(t, "curl")
	f := newFixture(t)
	b := f.b
	netID, sub := b.network("2001:db8:1::/64", "2001:db8:1::1", false)
	s := b.subnet(sub)
	s.IPv6RAMode, s.IPv6AddressMode = subnet.ModeSLAAC, subnet.ModeSLAAC
	rid := b.router("", "", "")
	rp := b.attach(rid, sub)
	f.bridges()

	mac := net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0a, 0x0b, 0x6c}
	guest := f.slaacGuest("vm6", netID, mac)
	// Before the router realizer runs: its first RA finds the guest ready.
	require.NoError(t, guest.Sysctl("net.ipv6.conf.eth0.accept_ra_rt_info_max_plen", "128"),
		"the kernel lacks RA route information (CONFIG_IPV6_ROUTE_INFO)")
	fixedIP, err := ipam.SLAAC(s.CIDR, mac)
	require.NoError(t, err)
	linkLocal, err := ipam.SLAAC(linkLocalPrefix, mac)
	require.NoError(t, err)
	routerLLA, err := ipam.SLAAC(linkLocalPrefix, rp.MACAddress.HardwareAddr())
	require.NoError(t, err)
	vm := port.Port{ID: b.id(), NetworkID: netID, MACAddress: port.MAC(mac), DeviceOwner: "compute:nova",
		DeviceID: "instance-v6", ProjectID: "project-v6", FixedIPs: []port.FixedIP{fixed(sub, fixedIP.String())}}

	f.apply(f.realizer(WithMetadataPort(metadata.RouterPort)))
	md, nova := f.metadataService()
	_, err = md.Apply(context.Background(), metadata.Desired{Routers: []string{rid}, Ports: append(slices.Clone(b.d.Ports), vm)})
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		return slices.Contains(v6Addrs(t, guest, "eth0"), fixedIP) && metadataRouteVia(t, guest) == routerLLA
	}, 20*time.Second, 50*time.Millisecond, "the guest never got %s and a route to fe80::a9fe:a9fe via %s from the RA", fixedIP, routerLLA)

	url := "http://[fe80::a9fe:a9fe%eth0]/openstack/latest"
	for _, c := range []struct {
		name string
		args []string
		src  netip.Addr
	}{
		{"link-local source", nil, linkLocal},
		{"fixed IP source", []string{"--interface", fixedIP.String()}, fixedIP},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"-g", "-H", "X-Instance-ID: someone-else", "-H", "X-Forwarded-For: 2001:db8:1::99"}, c.args...)
			out, err := curl(t, f.l, guest, append(args, url)...)
			require.NoError(t, err, out)
			assert.Equal(t, "instance=instance-v6 tenant=project-v6\n\n200", out)
			req, ok := nova.Last()
			require.True(t, ok)
			assert.Equal(t, novatest.Request{Path: "/openstack/latest", ForwardedFor: c.src.String(), RouterID: rid,
				InstanceID: "instance-v6", TenantID: "project-v6", Signature: metadata.Sign([]byte(mdSecret), "instance-v6"), SignatureOK: true}, req)
		})
	}

	// An address no port holds.
	f.l.MustRun(guest, "ip", "-6", "addr", "add", "2001:db8:1::99/64", "dev", "eth0", "nodad")
	seen := len(nova.Requests())
	out, err := curl(t, f.l, guest, "-g", "--interface", "2001:db8:1::99", url)
	require.NoError(t, err, out)
	assert.True(t, strings.HasSuffix(out, "\n404"), out)
	assert.Len(t, nova.Requests(), seen, "an unknown IPv6 source reached Nova")
}

// metadataRouteVia is the gateway of h's route to fe80::a9fe:a9fe/128.
func metadataRouteVia(t *testing.T, h *namespace.Handle) netip.Addr {
	routes, err := h.Netlink().RouteListFiltered(netlink.FAMILY_V6,
		&netlink.Route{Dst: &net.IPNet{IP: net.ParseIP(metadata.AddressV6), Mask: net.CIDRMask(128, 128)}}, netlink.RT_FILTER_DST)
	require.NoError(t, err)
	for _, r := range routes {
		if a, ok := netip.AddrFromSlice(r.Gw); ok {
			return a
		}
	}
	return netip.Addr{}
}
