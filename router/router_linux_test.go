package router

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

// world: an external network 203.0.113.0/24 with an external host at .1
// (the upstream gateway), router R (gateway .10) with networks A
// (100.64.1.0/24: vm1 .10 with floating IP .20, vm3 .11) and B
// (100.64.2.0/24: vm2 .10, no floating IP).
type world struct {
	*fixture
	r              *Realizer
	ext            *namespace.Handle
	extNet, extSub string
	router         string
	subA, subB     string
	vm1, vm2, vm3  *namespace.Handle
	extSrv         *server
	vm1Srv, vm3Srv *server
	vm2Srv         *server
	fip            int // index of vm1's floating IP in the document
}

const (
	extHostAddr = "203.0.113.1"
	gwAddr      = "203.0.113.10"
	fipAddr     = "203.0.113.20"
)

func newWorld(t *testing.T) *world {
	w := &world{fixture: newFixture(t)}
	b := w.b
	w.extNet, w.extSub = b.network("203.0.113.0/24", extHostAddr, true)
	_, w.subA = b.network("100.64.1.0/24", "100.64.1.1", false)
	_, w.subB = b.network("100.64.2.0/24", "100.64.2.1", false)
	w.router = b.router(w.extNet, w.extSub, gwAddr)
	b.attach(w.router, w.subA)
	b.attach(w.router, w.subB)
	w.bridges()
	w.ext = w.l.Namespace("ext")
	w.plug(w.ext, "eth0", w.extNet, nil, "", extHostAddr+"/24")
	w.vm1, _ = w.instance("vm1", w.subA, "100.64.1.10")
	w.vm3, _ = w.instance("vm3", w.subA, "100.64.1.11")
	w.vm2, _ = w.instance("vm2", w.subB, "100.64.2.10")
	b.fip(w.router, w.extNet, fipAddr, "100.64.1.10")
	w.fip = len(b.d.FloatingIPs) - 1
	w.extSrv = serve(t, w.ext, "ext", extHostAddr+":8080")
	w.vm1Srv = serve(t, w.vm1, "vm1", "100.64.1.10:8080")
	w.vm3Srv = serve(t, w.vm3, "vm3", "100.64.1.11:8080")
	w.vm2Srv = serve(t, w.vm2, "vm2", "100.64.2.10:8080")
	w.r = w.realizer()
	return w
}

// secondRouter adds router r2 (gateway 203.0.113.11) with network C
// (100.64.3.0/24) and its bridge.
func (w *world) secondRouter() (r2, subC string) {
	_, subC = w.b.network("100.64.3.0/24", "100.64.3.1", false)
	r2 = w.b.router(w.extNet, w.extSub, "203.0.113.11")
	w.b.attach(r2, subC)
	w.bridges()
	return r2, subC
}

func TestPlanMatchesApplyAndChangesNothing(t *testing.T) {
	w := newWorld(t)
	plan, err := w.r.Plan(context.Background(), w.b.d)
	require.NoError(t, err)
	names, err := namespace.NewManager(w.l.NodePrefix("n1")).List()
	require.NoError(t, err)
	assert.Empty(t, names, "Plan created nothing")
	rep := w.apply(w.r)
	assert.Equal(t, plan.Changes, rep.Changes)
	assert.Equal(t, 1, rep.Created["namespace"])
	assert.Equal(t, 3, rep.Created["link"])
	assert.Equal(t, 1, rep.Created["route"])
	assert.Equal(t, 1, rep.Created["nft-table"])
	assert.Equal(t, 2, rep.Created["nft-element"])
	assert.Equal(t, 4, rep.Created["address"]) // qg: gateway + FIP; qr: one each
	t.Log(strings.Join(rep.Changes, "\n"))
}

func TestSNATFloatingIPAndHairpin(t *testing.T) {
	w := newWorld(t)
	w.apply(w.r)

	// SNAT: vm2 has no floating IP; the external host sees the gateway.
	assert.Equal(t, "ext", greet(t, w.vm2, extHostAddr+":8080"))
	assert.Equal(t, gwAddr, w.extSrv.last())
	// vm1's own traffic leaves with its floating IP.
	assert.Equal(t, "ext", greet(t, w.vm1, extHostAddr+":8080"))
	assert.Equal(t, fipAddr, w.extSrv.last())
	// The external host reaches vm1 through the floating IP, TCP and ICMP,
	// and vm1 sees the external host's own address.
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))
	assert.Equal(t, extHostAddr, w.vm1Srv.last())
	assert.True(t, w.ping(w.ext, fipAddr), "ping the floating IP")
	// Hairpin: instances reach vm1 through its floating IP, from another
	// network and from vm1's own network; replies come back through the
	// router because the source is translated to the gateway address.
	assert.Equal(t, "vm1", greet(t, w.vm2, fipAddr+":8080"))
	assert.Equal(t, gwAddr, w.vm1Srv.last())
	assert.Equal(t, "vm1", greet(t, w.vm3, fipAddr+":8080"))
	assert.Equal(t, gwAddr, w.vm1Srv.last())
	// East-west between the router's networks is not translated.
	assert.Equal(t, "vm2", greet(t, w.vm1, "100.64.2.10:8080"))
	assert.Equal(t, "100.64.1.10", w.vm2Srv.last())

	rep := w.apply(w.r)
	assert.Zero(t, rep.Mutations(), "second Apply: %v", rep.Changes)
}

func TestSNATDisabledKeepsFloatingIPs(t *testing.T) {
	w := newWorld(t)
	off := false
	w.b.routerByID(w.router).ExternalGatewayInfo.EnableSNAT = &off
	w.apply(w.r)
	_, _, err := dialFrom(w.vm2, extHostAddr+":8080")
	if err == nil {
		// The SYN leaves untranslated from 100.64.2.10: the external host has
		// no route back, so the connection must not complete.
		t.Fatal("vm2 reached the external host without SNAT")
	}
	assert.Equal(t, "ext", greet(t, w.vm1, extHostAddr+":8080"))
	assert.Equal(t, fipAddr, w.extSrv.last())
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))

	on := true
	w.b.routerByID(w.router).ExternalGatewayInfo.EnableSNAT = &on
	rep := w.apply(w.r)
	assert.Equal(t, map[string]int{"nft-chain": 1}, rep.Updated, "enable_snat is one rule in one chain: %v", rep.Changes)
	assert.Equal(t, "ext", greet(t, w.vm2, extHostAddr+":8080"))
}

func TestTwoRoutersIsolatedAndIdenticalCIDRs(t *testing.T) {
	f := newFixture(t)
	b := f.b
	extNet, extSub := b.network("203.0.113.0/24", extHostAddr, true)
	_, t1 := b.network("10.0.0.0/24", "10.0.0.1", false)
	_, t2 := b.network("10.0.0.0/24", "10.0.0.1", false)
	r1 := b.router(extNet, extSub, "203.0.113.11")
	r2 := b.router(extNet, extSub, "203.0.113.12")
	b.attach(r1, t1)
	b.attach(r2, t2)
	_, a := b.network("100.64.1.0/24", "100.64.1.1", false)
	_, c := b.network("100.64.3.0/24", "100.64.3.1", false)
	b.attach(r1, a)
	b.attach(r2, c)
	f.bridges()
	ext := f.l.Namespace("ext")
	f.plug(ext, "eth0", extNet, nil, "", extHostAddr+"/24")
	vmT1, _ := f.instance("t1", t1, "10.0.0.10")
	vmT2, _ := f.instance("t2", t2, "10.0.0.10")
	vmA, _ := f.instance("a", a, "100.64.1.10")
	vmC, _ := f.instance("c", c, "100.64.3.10")
	srv := serve(t, ext, "ext", extHostAddr+":8080")
	serve(t, vmA, "a", "100.64.1.10:8080")
	r := f.realizer()
	rep := f.apply(r)
	assert.Equal(t, 2, rep.Created["namespace"])

	assert.Equal(t, "ext", greet(t, vmT1, extHostAddr+":8080"))
	assert.Equal(t, "203.0.113.11", srv.last())
	assert.Equal(t, "ext", greet(t, vmT2, extHostAddr+":8080"))
	assert.Equal(t, "203.0.113.12", srv.last())
	// Networks on different routers do not reach each other.
	assert.False(t, f.ping(vmC, "100.64.1.10"), "network C reached network A through another router")
	_, _, err := dialFrom(vmC, "100.64.1.10:8080")
	assert.Error(t, err)
	// While each reaches its own router and the outside.
	assert.True(t, f.ping(vmC, "100.64.3.1"))
	assert.Equal(t, "ext", greet(t, vmC, extHostAddr+":8080"))

	rep = f.apply(r)
	assert.Zero(t, rep.Mutations(), "second Apply: %v", rep.Changes)
}

func TestMoveFloatingIP(t *testing.T) {
	w := newWorld(t)
	w.apply(w.r)
	w.r.Wait()
	old, name, err := dialFrom(w.ext, fipAddr+":8080")
	require.NoError(t, err)
	defer old.c.Close()
	require.Equal(t, "vm1", name)

	garps := captureGARP(t, w.ext, "eth0", netip.MustParseAddr(fipAddr))
	w.b.d.FloatingIPs[w.fip].FixedIPAddress = netip.MustParseAddr("100.64.1.11")
	rep := w.apply(w.r)
	assert.Equal(t, map[string]int{"nft-element": 2, "conntrack": 1}, rep.Deleted, "%v", rep.Changes)
	assert.Equal(t, map[string]int{"nft-element": 2, "garp": 1}, rep.Created, "%v", rep.Changes)
	w.r.Wait()

	// The old flow stops: its next packet finds no conntrack entry, is
	// translated to vm3, which resets it.
	_, err = old.c.Write([]byte("hello\n"))
	if err == nil {
		var reply string
		reply, err = old.line(2 * time.Second)
		assert.NotEqual(t, "vm1 hello", reply)
	}
	assert.Error(t, err, "the flow to the old port survived the move")
	assert.Equal(t, "vm3", greet(t, w.ext, fipAddr+":8080"))
	assert.Equal(t, extHostAddr, w.vm3Srv.last())

	qg := w.gatewayMAC()
	select {
	case mac := <-garps:
		assert.Equal(t, qg, mac, "gratuitous ARP for the floating IP from the gateway")
	case <-time.After(5 * time.Second):
		t.Fatal("no gratuitous ARP for the floating IP on the external network")
	}
}

func (w *world) gatewayMAC() string {
	for _, p := range w.b.d.Ports {
		if p.DeviceOwner == port.OwnerRouterGateway && p.DeviceID == w.router {
			return p.MACAddress.String()
		}
	}
	return ""
}

func TestRepairsWhatWasDeletedByHand(t *testing.T) {
	w := newWorld(t)
	w.apply(w.r)
	ns := w.routerNS(w.router)
	w.l.MustRun(ns, "nft", "delete", "table", "inet", natTable)
	w.l.MustRun(ns, "ip", "route", "del", "default")
	rep := w.apply(w.r)
	assert.Equal(t, map[string]int{"nft-table": 1, "nft-element": 2, "route": 1}, rep.Created, "%v", rep.Changes)
	assert.Equal(t, 4, rep.Mutations(), "%v", rep.Changes)
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))
	assert.Equal(t, "ext", greet(t, w.vm2, extHostAddr+":8080"))
	assert.Equal(t, gwAddr, w.extSrv.last())

	// A FIP element deleted by hand, a sysctl reset, an address removed, a
	// router port set down.
	w.l.MustRun(ns, "nft", "delete", "element", "inet", natTable, dnatMap, "{", fipAddr, "}")
	w.l.MustRun(ns, "sysctl", "-w", "net.ipv4.ip_forward=0")
	qr := naming.RouterInterface(w.b.d.Ports[1].ID)
	w.l.MustRun(ns, "ip", "addr", "flush", "dev", qr)
	w.l.MustRun(ns, "ip", "link", "set", qr, "down")
	rep = w.apply(w.r)
	assert.Equal(t, map[string]int{"nft-element": 1, "address": 1, "garp": 1}, rep.Created, "%v", rep.Changes)
	assert.Equal(t, map[string]int{"sysctl": 1, "link": 1}, rep.Updated, "%v", rep.Changes)
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))
	assert.Equal(t, "ext", greet(t, w.vm1, extHostAddr+":8080"))

	// A router port's pair deleted by hand from the host side: the pair, its
	// addresses and the routes through it come back.
	w.l.MustRun(w.host, "ip", "link", "del", naming.Tap(w.b.d.Ports[0].ID))
	rep = w.apply(w.r)
	assert.Equal(t, map[string]int{"link": 1, "address": 2, "route": 1, "garp": 2}, rep.Created, "%v", rep.Changes)
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))
	assert.Zero(t, w.apply(w.r).Mutations())

	// The namespace deleted by hand: everything is rebuilt.
	require.NoError(t, namespace.NewManager(w.l.NodePrefix("n1")).Delete(naming.RouterNamespace(w.router)))
	rep = w.apply(w.r)
	assert.Equal(t, 1, rep.Created["namespace"], "%v", rep.Changes)
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))
	assert.Zero(t, w.apply(w.r).Mutations())
}

func TestRemoveRouterRemovesItsNamespaceOnly(t *testing.T) {
	w := newWorld(t)
	b := w.b
	r2, _ := w.secondRouter()
	w.apply(w.r)
	hostBefore := linkNames(t, w.host)

	// Drop r2 and its ports from the document.
	b.d.Routers = b.d.Routers[:1]
	var ports []port.Port
	var r2Taps []string
	for _, p := range b.d.Ports {
		if p.DeviceID == r2 {
			r2Taps = append(r2Taps, naming.Tap(p.ID))
			continue
		}
		ports = append(ports, p)
	}
	b.d.Ports = ports
	rep := w.apply(w.r)
	assert.Equal(t, map[string]int{"namespace": 1, "link": 2}, rep.Deleted, "%v", rep.Changes)
	assert.Zero(t, len(rep.Created)+len(rep.Updated), "%v", rep.Changes)

	mgr := namespace.NewManager(w.l.NodePrefix("n1"))
	assert.False(t, mgr.Exists(naming.RouterNamespace(r2)))
	assert.True(t, mgr.Exists(naming.RouterNamespace(w.router)))
	hostAfter := linkNames(t, w.host)
	for _, n := range hostBefore {
		gone := false
		for _, tap := range r2Taps {
			gone = gone || n == tap
		}
		assert.Equal(t, !gone, contains(hostAfter, n), "host device %s", n)
	}
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))
	assert.Zero(t, w.apply(w.r).Mutations())

	// With no routers left, the last namespace goes too.
	b.d.Routers, b.d.Ports, b.d.FloatingIPs = nil, nil, nil
	rep = w.apply(w.r)
	assert.Equal(t, 1, rep.Deleted["namespace"])
	names, err := mgr.List()
	require.NoError(t, err)
	assert.Empty(t, names)
}

func linkNames(t *testing.T, h *namespace.Handle) []string {
	links, err := h.Netlink().LinkList()
	require.NoError(t, err)
	var out []string
	for _, l := range links {
		out = append(out, l.Attrs().Name)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestInvalidDocumentChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.b.routerByID(w.router).Routes = []Route{{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("192.0.2.1")}}
	rep, err := w.r.Apply(context.Background(), w.b.d)
	require.Error(t, err)
	assert.True(t, errors.Is(err, errdefs.ErrInvalid))
	assert.Zero(t, rep.Mutations())
	names, err := namespace.NewManager(w.l.NodePrefix("n1")).List()
	require.NoError(t, err)
	assert.Empty(t, names)
}

func TestForeignDeviceAndMissingBridgeFailOnlyTheirRouter(t *testing.T) {
	w := newWorld(t)
	b := w.b
	// r2's interface collides with a foreign device in the host.
	_, c := b.network("100.64.3.0/24", "100.64.3.1", false)
	r2 := b.router("", "", "")
	p := b.attach(r2, c)
	// r3's network has no bridge.
	_, d := b.network("100.64.4.0/24", "100.64.4.1", false)
	r3 := b.router("", "", "")
	b.attach(r3, d)
	brC := naming.Bridge(p.NetworkID)
	attrs := netlink.NewLinkAttrs()
	attrs.Name = brC
	require.NoError(t, w.host.Netlink().LinkAdd(&netlink.Bridge{LinkAttrs: attrs}))
	attrs = netlink.NewLinkAttrs()
	attrs.Name = naming.Tap(p.ID)
	require.NoError(t, w.host.Netlink().LinkAdd(&netlink.Bridge{LinkAttrs: attrs})) // someone else's device

	rep, err := w.r.Apply(context.Background(), b.d)
	require.Error(t, err)
	assert.True(t, errors.Is(err, errdefs.ErrConflict), "%v", err)
	assert.True(t, errors.Is(err, errdefs.ErrNotFound), "%v", err)
	assert.Contains(t, err.Error(), "router "+r2)
	assert.Contains(t, err.Error(), "router "+r3)
	assert.NotContains(t, err.Error(), "router "+w.router)
	assert.Equal(t, 3, rep.Created["namespace"])
	_, err = w.host.Netlink().LinkByName(naming.Tap(p.ID))
	assert.NoError(t, err, "the foreign device stays")
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))
}

func TestNFTablesReadsWhatWeWrote(t *testing.T) {
	w := newWorld(t)
	w.apply(w.r)
	out := w.l.MustRun(w.routerNS(w.router), "nft", "list", "table", "inet", natTable)
	t.Log(out)
	qg := naming.RouterGateway(w.b.d.Ports[0].ID)
	for _, want := range []string{
		"type ipv4_addr : ipv4_addr",
		fipAddr + " : 100.64.1.10",
		"100.64.1.10 : " + fipAddr,
		"dnat ip to ip daddr map @" + dnatMap,
		"snat ip to ip saddr map @" + snatMap + " fully-random",
		`oifname "` + qg + `" snat ip to ` + gwAddr + " fully-random",
		`iifname != "` + qg + `" ct status dnat snat ip to ` + gwAddr + " fully-random",
		`oifname != "` + qg + `" ct status ! dnat accept`,
	} {
		assert.Contains(t, out, want)
	}
}

func TestFloatingIPMovesToAnotherRouter(t *testing.T) {
	w := newWorld(t)
	b := w.b
	r2, c := w.secondRouter()
	vm4, _ := w.instance("vm4", c, "100.64.3.10")
	serve(t, vm4, "vm4", "100.64.3.10:8080")
	w.apply(w.r)
	w.r.Wait()
	require.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))

	garps := captureGARP(t, w.ext, "eth0", netip.MustParseAddr(fipAddr))
	fip := &b.d.FloatingIPs[w.fip]
	fip.RouterID, fip.FixedIPAddress = r2, netip.MustParseAddr("100.64.3.10")
	rep := w.apply(w.r)
	assert.Equal(t, 2, rep.Created["nft-element"], "%v", rep.Changes)
	assert.Equal(t, 2, rep.Deleted["nft-element"], "%v", rep.Changes)
	assert.Equal(t, 1, rep.Deleted["conntrack"], "%v", rep.Changes)
	assert.Equal(t, 1, rep.Deleted["address"], "the /32 leaves the old gateway: %v", rep.Changes)
	assert.Equal(t, 1, rep.Created["address"], "and joins the new one: %v", rep.Changes)

	var qg2 string
	for _, p := range b.d.Ports {
		if p.DeviceOwner == port.OwnerRouterGateway && p.DeviceID == r2 {
			qg2 = p.MACAddress.String()
		}
	}
	select {
	case mac := <-garps:
		assert.Equal(t, qg2, mac, "the new router announces the floating IP")
	case <-time.After(5 * time.Second):
		t.Fatal("no gratuitous ARP for the floating IP")
	}
	// The external host's ARP cache now points at the new router.
	assert.Equal(t, "vm4", greet(t, w.ext, fipAddr+":8080"))
	assert.Zero(t, w.apply(w.r).Mutations())
}

func TestIPv6IsRoutedWithoutNAT(t *testing.T) {
	w := newWorld(t)
	b := w.b
	// Networks A and B get IPv6 subnets too, on the same router ports.
	for i, sub := range []string{w.subA, w.subB} {
		netID := b.subnet(sub).NetworkID
		v6 := b.addSubnet(netID, fmt.Sprintf("2001:db8:%d::/64", i+1), fmt.Sprintf("2001:db8:%d::1", i+1))
		for k := range b.d.Ports {
			if p := &b.d.Ports[k]; p.NetworkID == netID && p.DeviceOwner == port.OwnerRouterInterface {
				p.FixedIPs = append(p.FixedIPs, fixed(v6, fmt.Sprintf("2001:db8:%d::1", i+1)))
			}
		}
	}
	w.apply(w.r)
	w.l.MustRun(w.vm1, "ip", "addr", "add", "2001:db8:1::10/64", "dev", "eth0", "nodad")
	w.l.MustRun(w.vm1, "ip", "-6", "route", "add", "default", "via", "2001:db8:1::1")
	w.l.MustRun(w.vm2, "ip", "addr", "add", "2001:db8:2::10/64", "dev", "eth0", "nodad")
	w.l.MustRun(w.vm2, "ip", "-6", "route", "add", "default", "via", "2001:db8:2::1")
	srv := serve(t, w.vm2, "vm2v6", "[2001:db8:2::10]:8081")
	// Neighbour discovery on four fresh links may lose a first solicitation:
	// let a few echoes through before the connection that is asserted.
	reached := false
	for i := 0; i < 5 && !reached; i++ {
		reached = w.ping(w.vm1, "2001:db8:2::10")
	}
	require.True(t, reached, "IPv6 from network A to network B through the router")
	assert.Equal(t, "vm2v6", greet(t, w.vm1, "[2001:db8:2::10]:8081"))
	assert.Equal(t, "2001:db8:1::10", srv.last(), "IPv6 is not translated")
	assert.Zero(t, w.apply(w.r).Mutations())
}

func TestExtraRoutes(t *testing.T) {
	w := newWorld(t)
	rt := w.b.routerByID(w.router)
	rt.Routes = []Route{
		{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("100.64.1.10")},
		{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("100.64.1.11")},
		{Destination: netip.MustParsePrefix("192.0.2.0/24"), NextHop: netip.MustParseAddr("100.64.2.10")},
	}
	rep := w.apply(w.r)
	assert.Equal(t, 3, rep.Created["route"], "%v", rep.Changes)
	ns := w.routerNS(w.router)
	out := w.l.MustRun(ns, "ip", "route", "show", "proto", "77")
	assert.Contains(t, out, "192.0.2.0/24 via 100.64.2.10")
	assert.Contains(t, out, "nexthop via 100.64.1.10")
	assert.Contains(t, out, "nexthop via 100.64.1.11")
	assert.Contains(t, out, "default via "+extHostAddr)

	// Traffic follows them: an address behind vm1 and vm3 is reached from vm2.
	w.l.MustRun(w.vm1, "ip", "addr", "add", "198.51.100.1/32", "dev", "lo")
	w.l.MustRun(w.vm3, "ip", "addr", "add", "198.51.100.1/32", "dev", "lo")
	assert.True(t, w.ping(w.vm2, "198.51.100.1"), "the ECMP route leads to an instance holding the address")

	// One next hop fewer: the ECMP route becomes a plain one.
	rt.Routes = rt.Routes[1:]
	rep = w.apply(w.r)
	assert.Equal(t, map[string]int{"route": 1}, rep.Updated, "%v", rep.Changes)
	out = w.l.MustRun(ns, "ip", "route", "show", "proto", "77")
	assert.Contains(t, out, "198.51.100.0/24 via 100.64.1.11")
	rt.Routes = nil
	rep = w.apply(w.r)
	assert.Equal(t, map[string]int{"route": 2}, rep.Deleted, "%v", rep.Changes)
	assert.Zero(t, w.apply(w.r).Mutations())
}
