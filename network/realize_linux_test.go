package network

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

func TestMain(m *testing.M) { lab.Main(m) }

func newRealizer(t *testing.T, h *namespace.Handle, opts ...Option) *Realizer {
	t.Helper()
	r, err := NewRealizer(h, opts...)
	require.NoError(t, err)
	return r
}

func apply(t *testing.T, r *Realizer, d Desired) *Report {
	t.Helper()
	rep, err := r.Apply(context.Background(), d)
	require.NoError(t, err)
	return rep
}

func TestRealizeVXLANNetworkAndRepair(t *testing.T) {
	l := lab.New(t)
	host := l.Namespace("host")
	r := newRealizer(t, host)
	d := Desired{
		Networks: []Network{vxlanNet(netA, 101), {ID: netB, NetworkType: TypeLocal, MTU: 1400}},
		LocalIP:  local,
		Remote: []Endpoint{
			ep(netA, "p2", "fa:16:3e:00:00:02", node2, "10.0.0.2", "2001:db8::2"),
			ep(netA, "p3", "fa:16:3e:00:00:03", node3, "10.0.0.3"),
		},
	}
	plan, err := r.Plan(context.Background(), d)
	require.NoError(t, err)
	rep := apply(t, r, d)
	assert.Equal(t, plan, rep, "Plan foretells Apply")
	assert.Equal(t, map[string]int{"bridge": 2, "vxlan": 1, "fdb": 4, "neigh": 3}, rep.Created)
	assert.Zero(t, apply(t, r, d).Mutations(), "second Apply")

	nlh := host.Netlink()
	br, err := nlh.LinkByName("brqaaaaaaaa-11")
	require.NoError(t, err)
	vx, err := nlh.LinkByName("vxlan-101")
	require.NoError(t, err)
	v := vx.(*netlink.Vxlan)
	assert.Equal(t, 1450, br.Attrs().MTU)
	assert.Equal(t, 1450, v.MTU)
	assert.Equal(t, br.Attrs().Index, v.MasterIndex)
	assert.False(t, v.Learning)
	assert.True(t, v.Proxy)
	assert.Equal(t, 4789, v.Port)
	assert.Equal(t, "198.18.0.1", v.SrcAddr.String())
	local2, err := nlh.LinkByName("brqbbbbbbbb-22")
	require.NoError(t, err)
	assert.Equal(t, 1400, local2.Attrs().MTU)
	out := l.MustRun(host, "ip", "-6", "addr", "show")
	assert.NotContains(t, out, "fe80", "no IPv6 link-local address on our devices")

	// An FDB entry deleted by hand comes back, and only it.
	l.MustRun(host, "bridge", "fdb", "del", "fa:16:3e:00:00:03", "dev", "vxlan-101", "dst", "198.18.0.3")
	rep = apply(t, r, d)
	assert.Equal(t, []string{"create fdb fa:16:3e:00:00:03 dst 198.18.0.3 dev vxlan-101"}, rep.Changes)
	l.MustRun(host, "ip", "neigh", "del", "10.0.0.2", "dev", "vxlan-101")
	l.MustRun(host, "ip", "link", "set", "brqbbbbbbbb-22", "mtu", "1500")
	rep = apply(t, r, d)
	assert.Equal(t, 2, rep.Mutations(), rep.Changes)
	assert.Zero(t, apply(t, r, d).Mutations())

	// The deleted VXLAN device comes back with its entries.
	require.NoError(t, nlh.LinkDel(vx))
	rep = apply(t, r, d)
	assert.Equal(t, map[string]int{"vxlan": 1, "fdb": 4, "neigh": 3}, rep.Created)
	assert.Zero(t, apply(t, r, d).Mutations())

	// Removing a network removes its devices only.
	l.MustRun(host, "ip", "link", "add", "brqforeign", "type", "bridge")
	rep = apply(t, r, Desired{Networks: d.Networks[1:]})
	assert.Equal(t, map[string]int{"bridge": 1, "vxlan": 1}, rep.Deleted)
	_, err = nlh.LinkByName("brqforeign")
	require.NoError(t, err)
	_, err = nlh.LinkByName("brqbbbbbbbb-22")
	require.NoError(t, err)
}

func TestRealizeConcurrentAppliesAreSerialized(t *testing.T) {
	l := lab.New(t)
	r := newRealizer(t, l.Namespace("host"))
	d := Desired{Networks: []Network{vxlanNet(netA, 101), vxlanNet(netB, 102)}, LocalIP: local,
		Remote: []Endpoint{ep(netA, "p2", "fa:16:3e:00:00:02", node2, "10.0.0.2")}}
	var wg sync.WaitGroup
	reps := make([]*Report, 4)
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := r.Apply(context.Background(), d)
			assert.NoError(t, err)
			reps[i] = rep
		}()
	}
	wg.Wait()
	total := &Report{}
	for _, rep := range reps {
		total.Changes = append(total.Changes, rep.Changes...)
	}
	assert.Len(t, total.Changes, 7, "each object made once: %v", total.Changes)
}

func TestRealizeForeignDeviceConflict(t *testing.T) {
	l := lab.New(t)
	host := l.Namespace("host")
	l.MustRun(host, "ip", "link", "add", "brqaaaaaaaa-11", "mtu", "1300", "type", "bridge")
	r := newRealizer(t, host)
	rep, err := r.Apply(context.Background(), Desired{Networks: []Network{
		{ID: netA, NetworkType: TypeLocal, MTU: 1500}, {ID: netB, NetworkType: TypeLocal, MTU: 1500},
	}})
	require.ErrorIs(t, err, errdefs.ErrConflict)
	assert.ErrorContains(t, err, netA)
	assert.Equal(t, []string{"create bridge brqbbbbbbbb-22"}, rep.Changes)
	br, err := host.Netlink().LinkByName("brqaaaaaaaa-11")
	require.NoError(t, err)
	assert.Equal(t, 1300, br.Attrs().MTU, "foreign device untouched")
	assert.Empty(t, br.Attrs().Alias)
}

func TestRealizeFlatNetwork(t *testing.T) {
	l := lab.New(t)
	host, wire := l.Namespace("host"), l.Namespace("wire")
	l.Link(host, "eth1", nil, wire, "eth1", nil)
	l.MustRun(host, "ip", "link", "set", "eth1", "down")
	r := newRealizer(t, host, WithPhysicalInterfaceMappings(map[string]string{"physnet1": "eth1"}))
	d := Desired{Networks: []Network{{ID: netA, NetworkType: TypeFlat, PhysicalNetwork: "physnet1", MTU: 1500}}}
	rep := apply(t, r, d)
	assert.Equal(t, []string{"create bridge brqaaaaaaaa-11", "update physical eth1: master none -> brqaaaaaaaa-11, up"}, rep.Changes)
	assert.Zero(t, apply(t, r, d).Mutations())
	rep = apply(t, r, Desired{})
	assert.Equal(t, []string{"delete bridge brqaaaaaaaa-11"}, rep.Changes)
	eth1, err := host.Netlink().LinkByName("eth1")
	require.NoError(t, err, "the physical interface is the host's: never deleted")
	assert.Zero(t, eth1.Attrs().MasterIndex)
}

func TestRealizeVLANNetwork(t *testing.T) {
	l := lab.New(t)
	host, wire := l.Namespace("host"), l.Namespace("wire")
	l.Link(host, "eth1", nil, wire, "eth1", nil)
	r := newRealizer(t, host, WithPhysicalInterfaceMappings(map[string]string{"physnet1": "eth1"}))
	d := Desired{Networks: []Network{{ID: netA, NetworkType: TypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 100, MTU: 1500}}}
	rep, err := r.Apply(context.Background(), d)
	if errors.Is(err, syscall.EOPNOTSUPP) {
		t.Skip("802.1Q VLAN not supported by this kernel: ", err)
	}
	require.NoError(t, err)
	assert.Equal(t, []string{"create bridge brqaaaaaaaa-11", "create vlan eth1.100"}, rep.Changes)
	assert.Zero(t, apply(t, r, d).Mutations())
	vl, err := host.Netlink().LinkByName("eth1.100")
	require.NoError(t, err)
	assert.Equal(t, 100, vl.(*netlink.Vlan).VlanId)
	rep = apply(t, r, Desired{})
	assert.Equal(t, []string{"delete bridge brqaaaaaaaa-11", "delete vlan eth1.100"}, rep.Changes)
	_ = strings.TrimSpace
}
