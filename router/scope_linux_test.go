package router

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/namespace"
)

// scopeWorld: the external network 203.0.113.0/24 in address scope s4, its
// upstream host at .1 with routes to the tenant subnets via the router's
// gateway .10 (what BGP would give it), and router R with
//
//	S  100.64.1.0/24 in s4:    vmS .10, vmF .11 (floating IP .20)
//	S2 100.64.4.0/24 in s4:    vmS2 .10
//	U  100.64.2.0/24 no scope: vmU .10
//	O  100.64.3.0/24 in s4b:   vmO .10
type scopeWorld struct {
	*fixture
	r                        *Realizer
	ext                      *namespace.Handle
	subS, subS2, subU, subO  string
	vmS, vmF, vmS2, vmU, vmO *namespace.Handle
	extSrv                   *server
	srv                      map[string]*server
}

const (
	scopeExt   = "5c09e000-0000-4000-8000-000000000004"
	scopeOther = "5c09e000-0000-4000-8000-00000000004b"
	poolExt    = "900100e0-0000-4000-8000-000000000001"
	poolTen    = "900100e0-0000-4000-8000-000000000002"
	poolOther  = "900100e0-0000-4000-8000-000000000003"
)

func newScopeWorld(t *testing.T) *scopeWorld {
	w := &scopeWorld{fixture: newFixture(t), srv: map[string]*server{}}
	b := w.b
	b.d.AddressScopes = []ipam.AddressScope{{ID: scopeExt, IPVersion: 4}, {ID: scopeOther, IPVersion: 4}}
	b.d.SubnetPools = []ipam.SubnetPool{
		{ID: poolExt, AddressScopeID: scopeExt, Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}},
		{ID: poolTen, AddressScopeID: scopeExt, Prefixes: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/16")}},
		{ID: poolOther, AddressScopeID: scopeOther, Prefixes: []netip.Prefix{netip.MustParsePrefix("100.64.3.0/24")}},
	}
	extNet, extSub := b.network("203.0.113.0/24", extHostAddr, true)
	b.subnet(extSub).SubnetPoolID = poolExt
	_, w.subS = b.network("100.64.1.0/24", "100.64.1.1", false)
	b.subnet(w.subS).SubnetPoolID = poolTen
	_, w.subS2 = b.network("100.64.4.0/24", "100.64.4.1", false)
	b.subnet(w.subS2).SubnetPoolID = poolTen
	_, w.subU = b.network("100.64.2.0/24", "100.64.2.1", false)
	_, w.subO = b.network("100.64.3.0/24", "100.64.3.1", false)
	b.subnet(w.subO).SubnetPoolID = poolOther
	rid := b.router(extNet, extSub, gwAddr)
	for _, s := range []string{w.subS, w.subS2, w.subU, w.subO} {
		b.attach(rid, s)
	}
	w.bridges()
	w.ext = w.l.Namespace("ext")
	w.plug(w.ext, "eth0", extNet, nil, "", extHostAddr+"/24")
	for _, dst := range []string{"100.64.1.0/24", "100.64.2.0/24", "100.64.3.0/24", "100.64.4.0/24"} {
		w.l.Route(w.ext, dst, gwAddr)
	}
	for _, vm := range []struct {
		h             **namespace.Handle
		name, sub, ip string
	}{
		{&w.vmS, "vmS", w.subS, "100.64.1.10"}, {&w.vmF, "vmF", w.subS, "100.64.1.11"},
		{&w.vmS2, "vmS2", w.subS2, "100.64.4.10"}, {&w.vmU, "vmU", w.subU, "100.64.2.10"},
		{&w.vmO, "vmO", w.subO, "100.64.3.10"},
	} {
		*vm.h, _ = w.instance(vm.name, vm.sub, vm.ip)
		w.srv[vm.name] = serve(t, *vm.h, vm.name, vm.ip+":8080")
	}
	b.fip(rid, extNet, fipAddr, "100.64.1.11")
	w.extSrv = serve(t, w.ext, "ext", extHostAddr+":8080")
	w.r = w.realizer()
	return w
}

// reaches connects from h to addr:8080 and returns whom it reached and the
// source address the server saw; "" when the connection failed.
func (w *scopeWorld) reaches(h *namespace.Handle, srv *server, addr string) (name, seenAs string) {
	w.t.Helper()
	c, name, err := dialFrom(h, addr+":8080")
	if err != nil {
		return "", ""
	}
	c.c.Close()
	return name, srv.last()
}

func TestScopedSubnetIsRoutedWithoutNATAndUnscopedIsSNATed(t *testing.T) {
	w := newScopeWorld(t)
	rep := w.apply(w.r)
	t.Log(strings.Join(rep.Changes, "\n"))

	// Upstream reaches a scoped instance on its fixed IP, over the route
	// it learned, and the instance sees upstream's own address.
	name, seen := w.reaches(w.ext, w.srv["vmS"], "100.64.1.10")
	assert.Equal(t, "vmS", name, "upstream -> scoped instance by fixed IP")
	assert.Equal(t, extHostAddr, seen)
	// The scoped instance's own traffic leaves with its fixed IP.
	name, seen = w.reaches(w.vmS, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, "100.64.1.10", seen, "scoped instance seen upstream with its fixed IP")
	// The unscoped instance is SNATed as before, and not reachable from
	// outside on its fixed IP: that would cross scopes.
	name, seen = w.reaches(w.vmU, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, gwAddr, seen, "unscoped instance SNATed to the gateway")
	name, _ = w.reaches(w.ext, w.srv["vmU"], "100.64.2.10")
	assert.Empty(t, name, "upstream reached an unscoped instance by its fixed IP")
	// An instance of another scope is SNATed too (IPv4 SNAT crosses scopes).
	name, seen = w.reaches(w.vmO, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, gwAddr, seen, "other-scope instance SNATed to the gateway")

	rep = w.apply(w.r)
	assert.Zero(t, rep.Mutations(), "second Apply: %v", rep.Changes)
}

func TestFloatingIPOfAScopedPortWorksBothWays(t *testing.T) {
	w := newScopeWorld(t)
	w.apply(w.r)
	// Out: the floating IP takes precedence over routing without NAT.
	name, seen := w.reaches(w.vmF, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, fipAddr, seen, "a scoped port with a floating IP leaves with the floating IP")
	// In: through the floating IP, and still on the fixed IP.
	name, seen = w.reaches(w.ext, w.srv["vmF"], fipAddr)
	assert.Equal(t, "vmF", name, "upstream -> floating IP")
	assert.Equal(t, extHostAddr, seen)
	name, seen = w.reaches(w.ext, w.srv["vmF"], "100.64.1.11")
	assert.Equal(t, "vmF", name, "upstream -> the same port by fixed IP")
	assert.Equal(t, extHostAddr, seen)
	// Hairpin from another scope through the floating IP is a translation:
	// it crosses scopes legitimately.
	name, _ = w.reaches(w.vmO, w.srv["vmF"], fipAddr)
	assert.Equal(t, "vmF", name, "other scope -> floating IP (hairpin)")
}

func TestCrossScopeDroppedSameScopeRouted(t *testing.T) {
	w := newScopeWorld(t)
	w.apply(w.r)
	// Same scope, two subnets: routed, untranslated.
	name, seen := w.reaches(w.vmS, w.srv["vmS2"], "100.64.4.10")
	assert.Equal(t, "vmS2", name, "same scope S -> S2")
	assert.Equal(t, "100.64.1.10", seen)
	name, _ = w.reaches(w.vmS2, w.srv["vmS"], "100.64.1.10")
	assert.Equal(t, "vmS", name, "same scope S2 -> S")
	// Across scopes, either way, with or without a scope: dropped.
	for _, c := range []struct {
		from     *namespace.Handle
		to, addr string
	}{
		{w.vmS, "vmO", "100.64.3.10"}, {w.vmO, "vmS", "100.64.1.10"},
		{w.vmS, "vmU", "100.64.2.10"}, {w.vmU, "vmS", "100.64.1.10"},
		{w.vmU, "vmO", "100.64.3.10"}, {w.vmO, "vmU", "100.64.2.10"},
	} {
		name, _ := w.reaches(c.from, w.srv[c.to], c.addr)
		assert.Empty(t, name, "%s -> %s crossed address scopes", c.from.Name(), c.to)
	}
	assert.False(t, w.ping(w.vmU, "100.64.3.10"), "ping crossed address scopes")
	assert.True(t, w.ping(w.vmU, "100.64.2.1"), "an instance still reaches its own router interface")
}

func TestScopeChangeIsElementChangesAndConverges(t *testing.T) {
	w := newScopeWorld(t)
	w.apply(w.r)
	name, seen := w.reaches(w.vmU, w.extSrv, extHostAddr)
	require.Equal(t, "ext", name)
	require.Equal(t, gwAddr, seen)

	// U joins the external network's scope: its interface's mark changes,
	// two elements in each of the two sets; no rule changes.
	w.b.subnet(w.subU).SubnetPoolID = poolTen
	rep := w.apply(w.r)
	t.Log(strings.Join(rep.Changes, "\n"))
	assert.Equal(t, 2, rep.Created["nft-element"], "%v", rep.Changes)
	assert.Equal(t, 2, rep.Deleted["nft-element"], "%v", rep.Changes)
	assert.Zero(t, rep.Updated["nft-chain"], "%v", rep.Changes)
	assert.Zero(t, rep.Updated["nft-table"], "%v", rep.Changes)
	assert.Equal(t, 1, rep.Deleted["conntrack"], "U's flows are deleted from conntrack: %v", rep.Changes)
	w.r.Wait()

	name, seen = w.reaches(w.vmU, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, "100.64.2.10", seen, "U now leaves untranslated")
	name, _ = w.reaches(w.ext, w.srv["vmU"], "100.64.2.10")
	assert.Equal(t, "vmU", name, "upstream now reaches U by fixed IP")
	name, _ = w.reaches(w.vmU, w.srv["vmS"], "100.64.1.10")
	assert.Equal(t, "vmS", name, "U and S now share a scope")
	rep = w.apply(w.r)
	assert.Zero(t, rep.Mutations(), "second Apply: %v", rep.Changes)

	// Back out of every scope but the gateway's: the router still has
	// scopes, U is SNATed again.
	w.b.subnet(w.subU).SubnetPoolID = ""
	w.apply(w.r)
	w.r.Wait()
	name, seen = w.reaches(w.vmU, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, gwAddr, seen, "U SNATed again")

	// No scope left anywhere: the scope objects go, the NAT stays.
	for i := range w.b.d.Subnets {
		w.b.d.Subnets[i].SubnetPoolID = ""
	}
	rep = w.apply(w.r)
	assert.Equal(t, 1, rep.Updated["nft-table"], "%v", rep.Changes)
	t.Log(strings.Join(rep.Changes, "\n"))
	out, _ := w.l.Run(w.routerNS(w.b.d.Routers[0].ID), 10*time.Second, "nft", "list", "table", "inet", natTable)
	t.Log(out)
	name, _ = w.reaches(w.vmS, w.srv["vmO"], "100.64.3.10")
	assert.Equal(t, "vmO", name, "without scopes the router routes between its networks")
	name, seen = w.reaches(w.vmS, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, gwAddr, seen)
	rep = w.apply(w.r)
	assert.Zero(t, rep.Mutations(), "second Apply: %v", rep.Changes)
}

func TestScopeObjectsReadByNft(t *testing.T) {
	w := newScopeWorld(t)
	w.apply(w.r)
	h := w.routerNS(w.b.d.Routers[0].ID)
	out, err := w.l.Run(h, 10*time.Second, "nft", "list", "table", "inet", natTable)
	if err != nil {
		t.Skipf("nft CLI unavailable: %v", err)
	}
	t.Log(out)
	for _, want := range []string{"map scope-mark", "set scope-ok", "meta mark set iifname . meta nfproto map @scope-mark",
		"@scope-ok drop", "ct status dnat accept"} {
		assert.Contains(t, out, want)
	}
}

// addIPv6 gives the external network, S and U IPv6 subnets: the external
// one and S's in scope e6, U's in none; upstream gets 2001:db8:ff::1 and
// routes to both via the gateway's 2001:db8:ff::10.
func (w *scopeWorld) addIPv6() {
	b := w.b
	b.d.AddressScopes = append(b.d.AddressScopes, ipam.AddressScope{ID: "e6", IPVersion: 6})
	b.d.SubnetPools = append(b.d.SubnetPools, ipam.SubnetPool{ID: "p-e6", AddressScopeID: "e6",
		Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}})
	gw := &b.d.Ports[0] // the router's gateway port, added first
	ext6 := b.addSubnet(gw.NetworkID, "2001:db8:ff::/64", "2001:db8:ff::1")
	b.subnet(ext6).SubnetPoolID = "p-e6"
	gw.FixedIPs = append(gw.FixedIPs, fixed(ext6, "2001:db8:ff::10"))
	for _, c := range []struct{ sub, cidr, pool string }{{w.subS, "2001:db8:1::/64", "p-e6"}, {w.subU, "2001:db8:2::/64", ""}} {
		netID := b.subnet(c.sub).NetworkID
		gwIP := netip.MustParsePrefix(c.cidr).Addr().Next().String()
		v6 := b.addSubnet(netID, c.cidr, gwIP)
		b.subnet(v6).SubnetPoolID = c.pool
		for k := range b.d.Ports {
			if p := &b.d.Ports[k]; p.NetworkID == netID {
				p.FixedIPs = append(p.FixedIPs, fixed(v6, gwIP))
			}
		}
	}
	w.l.MustRun(w.ext, "ip", "addr", "add", "2001:db8:ff::1/64", "dev", "eth0", "nodad")
	for _, dst := range []string{"2001:db8:1::/64", "2001:db8:2::/64"} {
		w.l.MustRun(w.ext, "ip", "-6", "route", "add", dst, "via", "2001:db8:ff::10")
	}
	for _, vm := range []struct {
		h        *namespace.Handle
		addr, gw string
	}{{w.vmS, "2001:db8:1::10", "2001:db8:1::1"}, {w.vmU, "2001:db8:2::10", "2001:db8:2::1"}} {
		w.l.MustRun(vm.h, "ip", "addr", "add", vm.addr+"/64", "dev", "eth0", "nodad")
		w.l.MustRun(vm.h, "ip", "-6", "route", "add", "default", "via", vm.gw)
	}
}

func TestScopedIPv6IsRoutedAndUnscopedIPv6Isolated(t *testing.T) {
	w := newScopeWorld(t)
	w.addIPv6()
	w.apply(w.r)
	ext6 := serve(t, w.ext, "ext6", "[2001:db8:ff::1]:8081")
	s6 := serve(t, w.vmS, "vmS6", "[2001:db8:1::10]:8081")
	u6 := serve(t, w.vmU, "vmU6", "[2001:db8:2::10]:8081")
	// Neighbour discovery on fresh links may lose a first solicitation.
	reached := false
	for i := 0; i < 5 && !reached; i++ {
		reached = w.ping(w.ext, "2001:db8:1::10")
	}
	require.True(t, reached, "upstream -> scoped IPv6 instance")
	v6 := func(h *namespace.Handle, srv *server, addr string) (string, string) {
		c, name, err := dialFrom(h, "["+addr+"]:8081")
		if err != nil {
			return "", ""
		}
		c.c.Close()
		return name, srv.last()
	}
	name, seen := v6(w.ext, s6, "2001:db8:1::10")
	assert.Equal(t, "vmS6", name)
	assert.Equal(t, "2001:db8:ff::1", seen)
	name, seen = v6(w.vmS, ext6, "2001:db8:ff::1")
	assert.Equal(t, "ext6", name)
	assert.Equal(t, "2001:db8:1::10", seen)
	// IPv6 is never SNATed, so the unscoped subnet cannot leave its scope.
	name, _ = v6(w.ext, u6, "2001:db8:2::10")
	assert.Empty(t, name, "upstream reached an unscoped IPv6 instance")
	name, _ = v6(w.vmU, ext6, "2001:db8:ff::1")
	assert.Empty(t, name, "an unscoped IPv6 instance reached upstream")
	name, _ = v6(w.vmS, u6, "2001:db8:2::10")
	assert.Empty(t, name, "IPv6 crossed address scopes inside the router")
	assert.True(t, w.ping(w.vmU, "2001:db8:2::1"), "the unscoped IPv6 instance reaches its router interface")
	assert.Zero(t, w.apply(w.r).Mutations())
}

func TestSNATDisabledWithScopes(t *testing.T) {
	w := newScopeWorld(t)
	off := false
	w.b.d.Routers[0].ExternalGatewayInfo.EnableSNAT = &off
	w.b.fip(w.b.d.Routers[0].ID, w.b.d.FloatingIPs[0].FloatingNetworkID, "203.0.113.21", "100.64.2.10")
	w.apply(w.r)
	// The scoped subnet is routed as with SNAT.
	name, seen := w.reaches(w.vmS, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, "100.64.1.10", seen)
	// An unscoped port with a floating IP leaves through it, both ways.
	name, seen = w.reaches(w.vmU, w.extSrv, extHostAddr)
	assert.Equal(t, "ext", name)
	assert.Equal(t, "203.0.113.21", seen)
	name, _ = w.reaches(w.ext, w.srv["vmU"], "203.0.113.21")
	assert.Equal(t, "vmU", name)
	// Without SNAT or a floating IP, another scope stays inside.
	name, _ = w.reaches(w.vmO, w.extSrv, extHostAddr)
	assert.Empty(t, name, "an other-scope instance left untranslated without SNAT")
	assert.Zero(t, w.apply(w.r).Mutations())
}

func TestRouterWithoutGatewaySeparatesScopes(t *testing.T) {
	w := newScopeWorld(t)
	r := &w.b.d.Routers[0]
	r.ExternalGatewayInfo = nil
	w.b.d.Ports = w.b.d.Ports[1:] // the gateway port, added first
	w.b.d.FloatingIPs = nil
	rep := w.apply(w.r)
	assert.Equal(t, 1, rep.Created["nft-table"], "the scope policy needs the table without NAT: %v", rep.Changes)
	name, seen := w.reaches(w.vmS, w.srv["vmS2"], "100.64.4.10")
	assert.Equal(t, "vmS2", name, "same scope")
	assert.Equal(t, "100.64.1.10", seen)
	name, _ = w.reaches(w.vmS, w.srv["vmO"], "100.64.3.10")
	assert.Empty(t, name, "crossed address scopes on a router without gateway")
	assert.Zero(t, w.apply(w.r).Mutations())
}

func TestScopeChangeCutsFlowsAdmittedUnderTheOldScope(t *testing.T) {
	w := newScopeWorld(t)
	w.apply(w.r)
	c, name, err := dialFrom(w.ext, "100.64.1.10:8080")
	require.NoError(t, err)
	defer c.c.Close()
	require.Equal(t, "vmS", name)
	_, err = c.c.Write([]byte("before\n"))
	require.NoError(t, err)
	line, err := c.line(3 * time.Second)
	require.NoError(t, err)
	require.Equal(t, "vmS before", line)

	// S leaves the external network's scope: upstream may no longer reach
	// it untranslated, and the flow it opened must not live on.
	w.b.subnet(w.subS).SubnetPoolID = ""
	rep := w.apply(w.r)
	assert.Equal(t, 1, rep.Deleted["conntrack"], "%v", rep.Changes)
	w.r.Wait() // conntrack cleanup runs in the background
	_, _ = c.c.Write([]byte("after\n"))
	line, err = c.line(2 * time.Second)
	assert.Error(t, err, "the flow outlived its scope: %q", line)
}
