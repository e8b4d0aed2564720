package router

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

// Plan on a node where the network realizer has not run yet: the bridges
// it will create are assumed, and nothing changes.
func TestPlanOfAFreshNode(t *testing.T) {
	f := newFixture(t)
	b, _, _ := basicDoc()
	f.b = b
	r := f.realizer()
	plan, err := r.Plan(context.Background(), b.d)
	require.NoError(t, err)
	assert.Equal(t, 1, plan.Created["namespace"])
	names, _ := namespace.NewManager(f.l.NodePrefix("n1")).List()
	assert.Empty(t, names, "Plan created nothing")
}

// A bridge with the network's name that the network realizer did not make
// is someone else's: the router fails with a conflict and nothing joins it.
func TestForeignBridgeIsNeverJoined(t *testing.T) {
	f := newFixture(t)
	b, _, ext := basicDoc()
	f.b = b
	attrs := netlink.NewLinkAttrs()
	attrs.Name = naming.Bridge(ext)
	require.NoError(t, f.host.Netlink().LinkAdd(&netlink.Bridge{LinkAttrs: attrs}))
	// The network realizer makes the tenant network's bridge; the external
	// one is the foreign bridge.
	var tenants []network.Network
	for _, n := range b.d.Networks {
		if n.ID != ext {
			tenants = append(tenants, n)
		}
	}
	_, err := f.nets.Apply(context.Background(), network.Desired{Networks: tenants})
	require.NoError(t, err)
	r := f.realizer()
	_, err = r.Apply(context.Background(), b.d)
	require.True(t, errors.Is(err, errdefs.ErrConflict), "foreign bridge: %v", err)
	br, err := f.host.Netlink().LinkByName(attrs.Name)
	require.NoError(t, err)
	links, err := f.host.Netlink().LinkList()
	require.NoError(t, err)
	for _, l := range links {
		assert.NotEqual(t, br.Attrs().Index, l.Attrs().MasterIndex, "%s joined the foreign bridge", l.Attrs().Name)
	}
}

// What a process killed in the middle leaves — a host device under the
// router realizer's temporary name, a namespace file that is no mount point
// — is cleaned up by the next Apply, which then converges.
func TestCrashLeftoversAreCleanedUp(t *testing.T) {
	f := newFixture(t)
	b, _, _ := basicDoc()
	f.b = b
	f.bridges()
	leftover := nl.TempName(Owner)
	require.NoError(t, f.host.Netlink().LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: leftover}, PeerName: "nqpeer"}))
	mgr := namespace.NewManager(f.l.NodePrefix("n1"))
	stale := naming.RouterNamespace("0dead000-0000-4000-8000-000000000000")
	require.NoError(t, os.WriteFile(mgr.Path(stale), nil, 0o444))

	r := f.realizer()
	rep := f.apply(r)
	assert.Equal(t, 1, rep.Deleted["unfinished"], rep.Changes)
	_, err := f.host.Netlink().LinkByName(leftover)
	assert.Error(t, err, "leftover device removed")
	_, err = os.Stat(mgr.Path(stale))
	assert.True(t, os.IsNotExist(err), "unmounted namespace file removed: %v", err)
	assert.Zero(t, f.apply(r).Mutations(), "second Apply")
}
