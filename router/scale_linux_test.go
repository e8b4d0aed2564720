package router

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/nftables"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nft"
)

// More floating IPs than one netlink message used to hold (about 2,047
// elements were stored of 10,000 sent, without error): every element must
// land, and one floating IP more is two element changes.
func TestThousandsOfFloatingIPs(t *testing.T) {
	f := newFixture(t)
	b := f.b
	ext, extSub := b.network("198.18.0.0/15", "198.18.0.1", true)
	r := b.router(ext, extSub, "198.18.0.2")
	_, s := b.network("100.64.0.0/16", "100.64.0.1", false)
	b.attach(r, s)
	const n = 3000
	fip, fixedIP := netip.MustParseAddr("198.18.16.0"), netip.MustParseAddr("100.64.16.0")
	for i := 0; i < n; i++ {
		b.d.FloatingIPs = append(b.d.FloatingIPs, FloatingIP{ID: fmt.Sprint("fip-", i), FloatingIPAddress: fip,
			FloatingNetworkID: ext, PortID: "p", FixedIPAddress: fixedIP, RouterID: r})
		fip, fixedIP = fip.Next(), fixedIP.Next()
	}
	f.bridges()
	rz := f.realizer(WithGARP(0, 0))
	rep := f.apply(rz)
	assert.Equal(t, 2*n, rep.Created["nft-element"])
	assert.Equal(t, n+2, rep.Created["address"])

	c, err := f.routerNS(r).NFT()
	require.NoError(t, err)
	table := &nftables.Table{Name: natTable, Family: nftables.TableFamilyINet}
	for _, m := range []string{dnatMap, snatMap} {
		count, err := nft.VerifyCount(c, &nftables.Set{Table: table, Name: m})
		require.NoError(t, err)
		assert.Equal(t, n, count, "elements stored in %s", m)
	}
	assert.Zero(t, f.apply(rz).Mutations())

	b.d.FloatingIPs = append(b.d.FloatingIPs, FloatingIP{ID: "one-more", FloatingIPAddress: fip,
		FloatingNetworkID: ext, PortID: "p", FixedIPAddress: fixedIP, RouterID: r})
	rep = f.apply(rz)
	assert.Equal(t, map[string]int{"nft-element": 2, "address": 1}, rep.Created, "%v", rep.Changes)
	assert.Empty(t, rep.Updated)
	assert.Empty(t, rep.Deleted)

	b.d.FloatingIPs = b.d.FloatingIPs[:n-1]
	rep = f.apply(rz)
	assert.Equal(t, map[string]int{"nft-element": 4, "address": 2, "conntrack": 2}, rep.Deleted, "%v", rep.Changes)
	assert.Empty(t, rep.Created)
	assert.Zero(t, f.apply(rz).Mutations())

	// A Plan with a fresh realizer (no cached table) agrees.
	plan, err := f.realizer(WithGARP(0, 0)).Plan(context.Background(), b.d)
	require.NoError(t, err)
	assert.Zero(t, plan.Mutations(), "%v", plan.Changes)
}

// After a change of its own the realizer keeps the NAT table it wrote, tied
// to the generation its commit made: the next pass reads one number back,
// not the maps.
func TestNATCacheFollowsOwnCommits(t *testing.T) {
	w := newWorld(t)
	w.apply(w.r)
	rns, _, err := w.r.namespace(naming.RouterNamespace(w.router), true)
	require.NoError(t, err)
	c, err := rns.h.NFT()
	require.NoError(t, err)
	w.b.d.FloatingIPs[w.fip].FixedIPAddress = netip.MustParseAddr("100.64.1.11")
	w.apply(w.r)
	g, err := c.GetGen()
	require.NoError(t, err)
	require.NotNil(t, rns.nat)
	assert.Equal(t, g.ID, rns.nat.gen)
	assert.Equal(t, g.ID, rns.nat.st.gen)
	assert.Zero(t, w.apply(w.r).Mutations())
}

// Beyond WithMaxOpenNamespaces routers are opened and closed on each pass,
// and converge all the same.
func TestRoutersBeyondTheOpenNamespaceLimit(t *testing.T) {
	w := newWorld(t)
	w.secondRouter()
	rz := w.realizer(WithMaxOpenNamespaces(1))
	rep := w.apply(rz)
	assert.Equal(t, 2, rep.Created["namespace"])
	assert.Len(t, rz.handles, 1)
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))
	w.b.d.FloatingIPs[w.fip].FixedIPAddress = netip.MustParseAddr("100.64.1.11")
	rep = w.apply(rz)
	assert.Equal(t, 1, rep.Deleted["conntrack"])
	rz.Wait()
	assert.Equal(t, "vm3", greet(t, w.ext, fipAddr+":8080"))
	assert.Zero(t, w.apply(rz).Mutations())
}
