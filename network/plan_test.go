package network

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/converge"
	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/internal/report"
)

const (
	netA = "aaaaaaaa-1111-4000-8000-000000000001"
	netB = "bbbbbbbb-2222-4000-8000-000000000002"
)

var (
	local = netip.MustParseAddr("198.18.0.1")
	node2 = netip.MustParseAddr("198.18.0.2")
	node3 = netip.MustParseAddr("198.18.0.3")
)

func vxlanNet(id string, vni int) Network {
	return Network{ID: id, NetworkType: TypeVXLAN, SegmentationID: vni, MTU: 1450}
}

func ep(netID, portID, mac string, vtep netip.Addr, ips ...string) Endpoint {
	e := Endpoint{NetworkID: netID, PortID: portID, VTEP: vtep}
	e.MAC, _ = net.ParseMAC(mac)
	for _, ip := range ips {
		e.IPs = append(e.IPs, netip.MustParseAddr(ip))
	}
	return e
}

func emptyHost() *observed {
	return &observed{devices: map[string]*device{
		"lo":   {Name: "lo", Kind: "device", MTU: 65536, Up: true},
		"eth1": {Name: "eth1", Kind: "veth", MTU: 1500},
	}}
}

// planOn plans d against o with cfg's defaults and the given options.
func planOn(t *testing.T, d Desired, o *observed, opts ...Option) ([]string, error) {
	t.Helper()
	cfg := defaultConfig()
	require.NoError(t, option.Apply(&cfg, opts))
	w, err := d.validate()
	if err != nil {
		return nil, err
	}
	changes, err := plan(&cfg, w, o)
	lines := make([]string, 0, len(changes))
	for _, c := range changes {
		lines = append(lines, c.Line())
	}
	return lines, err
}

// convergeOn plans d on o, applies the plan to o as the kernel would, and
// checks that a second plan is empty: the planner's idempotency, without
// root.
func convergeOn(t *testing.T, d Desired, o *observed, opts ...Option) []string {
	t.Helper()
	cfg := defaultConfig()
	require.NoError(t, option.Apply(&cfg, opts))
	w, err := d.validate()
	require.NoError(t, err)
	changes, err := plan(&cfg, w, o)
	require.NoError(t, err)
	rep := &Report{}
	require.NoError(t, converge.Execute(context.Background(), "network", changes, rep, fakeKernel(o)))
	changes, err = plan(&cfg, w, o)
	require.NoError(t, err)
	require.Empty(t, changes, "second plan")
	return rep.Changes
}

// fakeKernel applies operations to an observed state.
func fakeKernel(o *observed) func(op) error {
	if o.fdb == nil {
		o.fdb, o.neigh = map[string][]fdbEntry{}, map[string][]neighEntry{}
	}
	return func(x op) error {
		switch x := x.(type) {
		case opAdd:
			d := x.dev
			d.Up = false
			o.devices[d.Name] = &d
		case opDel:
			delete(o.devices, x.name)
			delete(o.fdb, x.name)
			delete(o.neigh, x.name)
			for _, d := range o.devices {
				if d.Master == x.name {
					d.Master = ""
				}
			}
		case opMTU:
			o.devices[x.name].MTU = x.mtu
		case opMaster:
			o.devices[x.name].Master = x.master
		case opUp:
			o.devices[x.name].Up = x.up
		case opFDBAdd:
			o.fdb[x.e.Dev] = append(o.fdb[x.e.Dev], x.e)
		case opFDBDel:
			o.fdb[x.e.Dev] = slices.DeleteFunc(o.fdb[x.e.Dev], func(e fdbEntry) bool { return e == x.e })
		case opNeighSet:
			o.neigh[x.e.Dev] = append(slices.DeleteFunc(o.neigh[x.e.Dev], func(e neighEntry) bool { return e.IP == x.e.IP }), x.e)
		case opNeighDel:
			o.neigh[x.e.Dev] = slices.DeleteFunc(o.neigh[x.e.Dev], func(e neighEntry) bool { return e.IP == x.e.IP })
		}
		return nil
	}
}

func TestPlanVXLANNetworkWithL2Population(t *testing.T) {
	d := Desired{
		Networks: []Network{vxlanNet(netA, 101)},
		LocalIP:  local,
		Remote: []Endpoint{
			ep(netA, "p2", "fa:16:3e:00:00:02", node2, "10.0.0.2", "2001:db8::2"),
			ep(netA, "p3", "fa:16:3e:00:00:03", node3, "10.0.0.3"),
			ep(netA, "p4", "fa:16:3e:00:00:04", node2),
			ep(netB, "p5", "fa:16:3e:00:00:05", node2, "10.0.0.5"), // network not desired here
		},
	}
	o := emptyHost()
	got := convergeOn(t, d, o)
	assert.Equal(t, []string{
		"create bridge brqaaaaaaaa-11",
		"create vxlan vxlan-101",
		"create fdb 00:00:00:00:00:00 dst 198.18.0.2 dev vxlan-101",
		"create fdb fa:16:3e:00:00:02 dst 198.18.0.2 dev vxlan-101",
		"create fdb 00:00:00:00:00:00 dst 198.18.0.3 dev vxlan-101",
		"create fdb fa:16:3e:00:00:03 dst 198.18.0.3 dev vxlan-101",
		"create fdb fa:16:3e:00:00:04 dst 198.18.0.2 dev vxlan-101",
		"create neigh 10.0.0.2 lladdr fa:16:3e:00:00:02 dev vxlan-101",
		"create neigh 2001:db8::2 lladdr fa:16:3e:00:00:02 dev vxlan-101",
		"create neigh 10.0.0.3 lladdr fa:16:3e:00:00:03 dev vxlan-101",
	}, got)
	vx := o.devices["vxlan-101"]
	assert.Equal(t, device{Name: "vxlan-101", Kind: KindVXLAN, Alias: "neutrino:vxlan:" + netA, MTU: 1450, Up: true,
		Master: "brqaaaaaaaa-11", VNI: 101, Local: local, Port: 4789, Proxy: true}, *vx)

	// p3 leaves: its node has no port left, so its flooding entry goes too.
	d.Remote = slices.DeleteFunc(d.Remote, func(e Endpoint) bool { return e.PortID == "p3" })
	assert.Equal(t, []string{
		"delete fdb 00:00:00:00:00:00 dst 198.18.0.3 dev vxlan-101",
		"delete fdb fa:16:3e:00:00:03 dst 198.18.0.3 dev vxlan-101",
		"delete neigh 10.0.0.3 lladdr fa:16:3e:00:00:03 dev vxlan-101",
	}, convergeOn(t, d, o))

	// p4 moves to node3: a delete and an add, and node3 floods again.
	d.Remote[1].VTEP = node3
	assert.Equal(t, []string{
		"delete fdb fa:16:3e:00:00:04 dst 198.18.0.2 dev vxlan-101",
		"create fdb 00:00:00:00:00:00 dst 198.18.0.3 dev vxlan-101",
		"create fdb fa:16:3e:00:00:04 dst 198.18.0.3 dev vxlan-101",
	}, convergeOn(t, d, o))
}

func TestPlanRepairsDriftAndRecreatesImmutable(t *testing.T) {
	d := Desired{Networks: []Network{vxlanNet(netA, 101)}, LocalIP: local,
		Remote: []Endpoint{ep(netA, "p2", "fa:16:3e:00:00:02", node2, "10.0.0.2")}}
	o := emptyHost()
	convergeOn(t, d, o)

	o.devices["brqaaaaaaaa-11"].MTU = 1500
	o.devices["vxlan-101"].Up = false
	o.devices["vxlan-101"].Master = ""
	o.neigh["vxlan-101"][0].MAC = "fa:16:3e:00:00:99"
	o.fdb["vxlan-101"] = append(o.fdb["vxlan-101"], fdbEntry{Dev: "vxlan-101", MAC: "fa:16:3e:00:00:77", Dst: node3})
	assert.Equal(t, []string{
		"update bridge brqaaaaaaaa-11: mtu 1500 -> 1450",
		"update vxlan vxlan-101: master none -> brqaaaaaaaa-11, up",
		"delete fdb fa:16:3e:00:00:77 dst 198.18.0.3 dev vxlan-101",
		"update neigh 10.0.0.2 lladdr fa:16:3e:00:00:02 dev vxlan-101",
	}, convergeOn(t, d, o))

	// A new tunnel address cannot be changed in place: the device is made
	// again, with its entries, and re-enslaved.
	d.LocalIP = netip.MustParseAddr("198.18.0.9")
	assert.Equal(t, []string{
		"update vxlan vxlan-101: re-create (local 198.18.0.1 -> 198.18.0.9)",
		"create fdb 00:00:00:00:00:00 dst 198.18.0.2 dev vxlan-101",
		"create fdb fa:16:3e:00:00:02 dst 198.18.0.2 dev vxlan-101",
		"create neigh 10.0.0.2 lladdr fa:16:3e:00:00:02 dev vxlan-101",
	}, convergeOn(t, d, o))

	// Without the ARP responder the device has no proxy flag and no entries.
	assert.Equal(t, []string{
		"update vxlan vxlan-101: re-create (proxy true -> false)",
		"create fdb 00:00:00:00:00:00 dst 198.18.0.2 dev vxlan-101",
		"create fdb fa:16:3e:00:00:02 dst 198.18.0.2 dev vxlan-101",
	}, convergeOn(t, d, o, WithARPResponder(false)))
}

func TestPlanRemovesOnlyOwnDevices(t *testing.T) {
	d := Desired{Networks: []Network{vxlanNet(netA, 101), {ID: netB, NetworkType: TypeLocal, MTU: 1500}}, LocalIP: local}
	o := emptyHost()
	o.devices["brqforeign"] = &device{Name: "brqforeign", Kind: KindBridge, Up: true}
	o.devices["tap0"] = &device{Name: "tap0", Kind: "tuntap", Alias: "neutrino:port:x", Master: "brqbbbbbbbb-22"}
	convergeOn(t, d, o)

	d.Networks = d.Networks[1:]
	assert.Equal(t, []string{"delete bridge brqaaaaaaaa-11", "delete vxlan vxlan-101"}, convergeOn(t, d, o))
	assert.Contains(t, o.devices, "brqforeign")
	assert.Contains(t, o.devices, "tap0")
	assert.Contains(t, o.devices, "brqbbbbbbbb-22")

	d.Networks = nil
	assert.Equal(t, []string{"delete bridge brqbbbbbbbb-22"}, convergeOn(t, d, o))
	assert.Equal(t, "", o.devices["tap0"].Master, "a deleted bridge releases its ports")
}

func TestPlanForeignDeviceIsConflict(t *testing.T) {
	d := Desired{Networks: []Network{vxlanNet(netA, 101), vxlanNet(netB, 102)}, LocalIP: local}
	o := emptyHost()
	o.devices["brqaaaaaaaa-11"] = &device{Name: "brqaaaaaaaa-11", Kind: KindBridge, Alias: "someone else's"}
	o.devices["vxlan-102"] = &device{Name: "vxlan-102", Kind: KindVXLAN, VNI: 102}
	lines, err := planOn(t, d, o)
	require.ErrorIs(t, err, errdefs.ErrConflict)
	assert.ErrorContains(t, err, "network "+netA)
	assert.ErrorContains(t, err, "vxlan-102")
	assert.Empty(t, lines, "neither network is touched")

	// The third network goes ahead.
	d.Networks = append(d.Networks, Network{ID: "cccccccc-3", NetworkType: TypeLocal, MTU: 1500})
	lines, err = planOn(t, d, o)
	require.ErrorIs(t, err, errdefs.ErrConflict)
	assert.Equal(t, []string{"create bridge brqcccccccc-3"}, lines)
}

func TestPlanFlatAndVLAN(t *testing.T) {
	maps := WithPhysicalInterfaceMappings(map[string]string{"physnet1": "eth1", "physnet2": "eth2"})
	flat := Network{ID: netA, NetworkType: TypeFlat, PhysicalNetwork: "physnet1", MTU: 1500}
	d := Desired{Networks: []Network{flat}}
	o := emptyHost()
	assert.Equal(t, []string{
		"create bridge brqaaaaaaaa-11",
		"update physical eth1: master none -> brqaaaaaaaa-11, up",
	}, convergeOn(t, d, o, maps))

	// Another network takes eth1 with a VLAN: eth1 leaves the flat bridge.
	vlan := Network{ID: netB, NetworkType: TypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 100, MTU: 1500}
	d.Networks = []Network{vlan}
	assert.Equal(t, []string{
		"delete bridge brqaaaaaaaa-11",
		"create bridge brqbbbbbbbb-22",
		"create vlan eth1.100",
	}, convergeOn(t, d, o, maps))
	assert.Equal(t, device{Name: "eth1.100", Kind: KindVLAN, Alias: "neutrino:vlan:" + netB, MTU: 1500, Up: true,
		Master: "brqbbbbbbbb-22", VLAN: 100, Parent: "eth1"}, *o.devices["eth1.100"])
	assert.Equal(t, "", o.devices["eth1"].Master)
	assert.True(t, o.devices["eth1"].Up, "the host's interface is left up")

	// A flat network on an interface that a foreign bridge holds.
	o.devices["br0"] = &device{Name: "br0", Kind: KindBridge}
	o.devices["eth1"].Master = "br0"
	d.Networks = []Network{flat}
	_, err := planOn(t, d, o, maps)
	require.ErrorIs(t, err, errdefs.ErrConflict)

	// Unmapped physical network and missing interface.
	d.Networks = []Network{{ID: netA, NetworkType: TypeFlat, PhysicalNetwork: "physnet9", MTU: 1500}}
	_, err = planOn(t, d, o, maps)
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	assert.ErrorContains(t, err, "physnet9")
	d.Networks = []Network{{ID: netA, NetworkType: TypeFlat, PhysicalNetwork: "physnet2", MTU: 1500}}
	_, err = planOn(t, d, o, maps)
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	assert.ErrorContains(t, err, "eth2")
}

func TestPlanMappingErrorKeepsExistingBridge(t *testing.T) {
	maps := WithPhysicalInterfaceMappings(map[string]string{"physnet1": "eth1"})
	d := Desired{Networks: []Network{{ID: netA, NetworkType: TypeFlat, PhysicalNetwork: "physnet1", MTU: 1500}}}
	o := emptyHost()
	convergeOn(t, d, o, maps)
	lines, err := planOn(t, d, o) // the mapping is gone from the configuration
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	assert.Empty(t, lines)
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		d    Desired
		kind error
		path string
	}{
		{"model", Desired{Networks: []Network{{ID: netA, NetworkType: "gre", MTU: 1450}}}, errdefs.ErrInvalid, "networks[0].provider:network_type"},
		{"mtu unset", Desired{Networks: []Network{{ID: netA, NetworkType: TypeLocal}}}, errdefs.ErrInvalid, "networks[0].mtu"},
		{"duplicate id", Desired{Networks: []Network{{ID: netA, NetworkType: TypeLocal, MTU: 1500}, {ID: netA, NetworkType: TypeLocal, MTU: 1500}}}, errdefs.ErrConflict, "networks[1].id"},
		{"same bridge name", Desired{Networks: []Network{{ID: "abcdefghijk-1", NetworkType: TypeLocal, MTU: 1500}, {ID: "abcdefghijk-2", NetworkType: TypeLocal, MTU: 1500}}}, errdefs.ErrConflict, "networks[1].id"},
		{"same vni", Desired{LocalIP: local, Networks: []Network{vxlanNet(netA, 5), vxlanNet(netB, 5)}}, errdefs.ErrConflict, "networks[1]"},
		{"no local ip", Desired{Networks: []Network{vxlanNet(netA, 5)}}, errdefs.ErrInvalid, "local_ip"},
		{"remote is local", Desired{LocalIP: local, Networks: []Network{vxlanNet(netA, 5)}, Remote: []Endpoint{ep(netA, "p", "fa:16:3e:00:00:01", local)}}, errdefs.ErrInvalid, "remote[0].vtep"},
		{"remote multicast mac", Desired{LocalIP: local, Networks: []Network{vxlanNet(netA, 5)}, Remote: []Endpoint{ep(netA, "p", "01:00:5e:00:00:01", node2)}}, errdefs.ErrInvalid, "remote[0].mac"},
		{"remote duplicate ip", Desired{LocalIP: local, Networks: []Network{vxlanNet(netA, 5)}, Remote: []Endpoint{
			ep(netA, "p", "fa:16:3e:00:00:01", node2, "10.0.0.1"), ep(netA, "q", "fa:16:3e:00:00:02", node3, "10.0.0.1")}}, errdefs.ErrConflict, "remote[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.d.validate()
			require.ErrorIs(t, err, c.kind)
			var fe *errdefs.FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.True(t, strings.HasPrefix(fe.Path, c.path), "path %q, want %q", fe.Path, c.path)
		})
	}
	// The same MAC on two networks is fine; remote ports of non-VXLAN
	// networks are not looked at.
	_, err := (&Desired{LocalIP: local, Networks: []Network{vxlanNet(netA, 5), vxlanNet(netB, 6), {ID: "c", NetworkType: TypeLocal, MTU: 1500}},
		Remote: []Endpoint{ep(netA, "p", "fa:16:3e:00:00:01", node2), ep(netB, "q", "fa:16:3e:00:00:01", node2), {NetworkID: "c"}}}).validate()
	require.NoError(t, err)
}

func TestVLANInterfaceName(t *testing.T) {
	assert.Equal(t, "eth1.100", VLANInterface("eth1", 100))
	assert.Equal(t, "enp0s31f6a.4094", VLANInterface("enp0s31f6abcdef", 4094))
	assert.LessOrEqual(t, len(VLANInterface("enp0s31f6abcdef", 4094)), 15)
	assert.Equal(t, "brqaaaaaaaa-11", naming.Bridge(netA))
}

func TestParseInterfaceMappings(t *testing.T) {
	m, err := ParseInterfaceMappings(" physnet1:eth1, physnet2:eth2 ,")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"physnet1": "eth1", "physnet2": "eth2"}, m)
	_, err = ParseInterfaceMappings("physnet1")
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	_, err = ParseInterfaceMappings("p:eth1,p:eth2")
	require.ErrorIs(t, err, errdefs.ErrConflict)
}

func TestNewRealizerOptions(t *testing.T) {
	_, err := NewRealizer(nil)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	for name, o := range map[string]Option{
		"vxlan_port":                        WithVXLANPort(0),
		"physical_interface_mappings.phys1": WithPhysicalInterfaceMappings(map[string]string{"phys1": "a/b"}),
	} {
		cfg := defaultConfig()
		err := option.Apply(&cfg, []Option{o})
		require.ErrorIs(t, err, errdefs.ErrInvalid, name)
		assert.ErrorContains(t, err, name)
	}
}

func TestReportCounts(t *testing.T) {
	var r Report
	report.Add(&r, Create, "bridge", "brq1")
	report.Add(&r, Update, "vxlan", "vxlan-1: mtu 1500 -> 1450")
	report.Add(&r, Delete, "fdb", "x")
	report.Add(&r, Create, "bridge", "brq2")
	assert.Equal(t, 4, r.Mutations())
	assert.Equal(t, map[string]int{"bridge": 2}, r.Created)
	assert.Equal(t, "update vxlan vxlan-1: mtu 1500 -> 1450", r.Changes[1])
}

func TestRunChangesStopsOnCancelAndSkipsFailedNetwork(t *testing.T) {
	changes := []change{
		{Verb: Create, Kind: KindBridge, What: "brq1", Group: "n1", Ops: []op{opDel{"x"}}},
		{Verb: Create, Kind: KindVXLAN, What: "vxlan-1", Group: "n1", Ops: []op{opDel{"y"}}},
		{Verb: Create, Kind: KindBridge, What: "brq2", Group: "n2", Ops: []op{opDel{"z"}}},
	}
	fail := errors.New("boom")
	var ran []string
	rep := &Report{}
	err := converge.Execute(context.Background(), "network", changes, rep, func(o op) error {
		ran = append(ran, o.(opDel).name)
		if o.(opDel).name == "x" {
			return fail
		}
		return nil
	})
	require.ErrorIs(t, err, fail)
	assert.ErrorContains(t, err, "network n1: create bridge brq1")
	assert.Equal(t, []string{"x", "z"}, ran, "n1's later change is skipped, n2 goes ahead")
	assert.Equal(t, []string{"create bridge brq2"}, rep.Changes)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep = &Report{}
	err = converge.Execute(ctx, "network", changes, rep, func(op) error { t.Fatal("ran after cancel"); return nil })
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, rep.Mutations())
}
