package port

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

// require8021Q skips the test when the kernel cannot make 802.1Q VLAN
// devices (this machine's cannot, and no module can be loaded).
func require8021Q(t *testing.T, h *namespace.Handle) {
	t.Helper()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "probe0"
	parent := &netlink.Veth{LinkAttrs: attrs, PeerName: "probe1"}
	require.NoError(t, h.Netlink().LinkAdd(parent))
	defer func() { _ = h.Netlink().LinkDel(parent) }()
	va := netlink.NewLinkAttrs()
	va.Name, va.ParentIndex = "probe0.7", parent.Attrs().Index
	if err := h.Netlink().LinkAdd(&netlink.Vlan{LinkAttrs: va, VlanId: 7}); err != nil {
		t.Skipf("this kernel has no 802.1Q VLAN devices (CONFIG_VLAN_8021Q): %v", err)
	}
}

// Sub-ports become VLAN sub-interfaces of the parent's device, in their
// network's bridge, with their MAC; removed live, they go.
func TestTrunkSubPortsAreVLANDevices(t *testing.T) {
	l := lab.New(t)
	host := l.Namespace("host")
	require8021Q(t, host)
	d := trunkDesired()
	d.Ports = append(d.Ports[1:2], d.Ports[3:]...) // the tap parent and its sub-ports
	nets, err := network.NewRealizer(host)
	require.NoError(t, err)
	d.Networks[1].NetworkType = network.TypeLocal // the sub-port network's own uplink is not under test
	d.Networks[1].PhysicalNetwork, d.Networks[1].SegmentationID = "", 0
	d.Ports[0].TrunkDetails.SubPorts[1] = SubPort{PortID: "bbbbbbbbbbb-5", SegmentationType: SegmentationVLAN, SegmentationID: 200}
	_, err = nets.Apply(context.Background(), network.Desired{Networks: d.Networks})
	require.NoError(t, err)
	r, err := NewRealizer(host)
	require.NoError(t, err)
	_, err = r.Apply(context.Background(), d)
	require.NoError(t, err)
	parent, err := host.Netlink().LinkByName("tapttttttttttt")
	require.NoError(t, err)
	br, err := host.Netlink().LinkByName(naming.Bridge(subNet))
	require.NoError(t, err)
	for _, c := range []struct {
		dev, mac string
		vid      int
	}{{"tapaaaaaaaaaaa", "fa:16:3e:00:00:04", 100}, {"tapbbbbbbbbbbb", "fa:16:3e:00:00:05", 200}} {
		link, err := host.Netlink().LinkByName(c.dev)
		require.NoError(t, err)
		v, ok := link.(*netlink.Vlan)
		require.True(t, ok, "%s is a %s", c.dev, link.Type())
		assert.Equal(t, c.vid, v.VlanId)
		assert.Equal(t, parent.Attrs().Index, v.Attrs().ParentIndex)
		assert.Equal(t, br.Attrs().Index, v.Attrs().MasterIndex)
		assert.Equal(t, c.mac, v.Attrs().HardwareAddr.String())
	}
	rep, err := r.Apply(context.Background(), d)
	require.NoError(t, err)
	assert.Zero(t, rep.Mutations())

	d.Ports[0].TrunkDetails.SubPorts = d.Ports[0].TrunkDetails.SubPorts[:1]
	rep, err = r.Apply(context.Background(), d)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deleted[kindPort])
	_, err = host.Netlink().LinkByName("tapbbbbbbbbbbb")
	assert.Error(t, err, "the removed sub-port's device is gone")
}
