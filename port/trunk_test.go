package port

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/network"
)

const (
	subNet    = "sssssssss-22-4000-8000-000000000002"
	subBridge = "brqsssssssss-2"
)

// trunkDesired is unitDesired with the tap port ttttttttttt-2 as a trunk
// parent of two sub-ports on a second network: VLAN 100 and one inherited
// from a VLAN network (VLAN 200).
func trunkDesired() Desired {
	d := unitDesired()
	d.Networks = append(d.Networks, network.Network{ID: subNet, NetworkType: network.TypeVLAN, PhysicalNetwork: "physnet1", SegmentationID: 200, MTU: 1450})
	d.Ports = append(d.Ports,
		Port{ID: "aaaaaaaaaaa-4", NetworkID: subNet, MACAddress: MustParseMAC("fa:16:3e:00:00:04"), DeviceOwner: OwnerTrunkSubport},
		Port{ID: "bbbbbbbbbbb-5", NetworkID: subNet, MACAddress: MustParseMAC("fa:16:3e:00:00:05"), DeviceOwner: OwnerTrunkSubport})
	d.Ports[1].TrunkDetails = &TrunkDetails{TrunkID: "t1", SubPorts: []SubPort{
		{PortID: "aaaaaaaaaaa-4", SegmentationType: SegmentationVLAN, SegmentationID: 100},
		{PortID: "bbbbbbbbbbb-5", SegmentationType: SegmentationInherit},
	}}
	return d
}

func trunkHost() *observed {
	o := converged()
	o.host[subBridge] = &hostDev{Name: subBridge, Kind: "bridge", Index: 20, Alias: "neutrino:bridge:" + subNet, MTU: 1450, Up: true}
	return o
}

// Adding sub-ports plans exactly one VLAN device each, of the parent's
// device, with the sub-port's MAC, in the sub-port network's bridge; the
// sub-ports are not plugged as ports of their own.
func TestTrunkPlanAddsSubPorts(t *testing.T) {
	lines, err := planLines(t, trunkDesired(), trunkHost())
	require.NoError(t, err)
	assert.Equal(t, []string{
		"create port tapaaaaaaaaaaa (vlan 100 on tapttttttttttt, mac fa:16:3e:00:00:04, bridge brqsssssssss-2)",
		"create port tapbbbbbbbbbbb (vlan 200 on tapttttttttttt, mac fa:16:3e:00:00:05, bridge brqsssssssss-2)",
	}, lines)
	d := trunkDesired()
	w, err := d.validate()
	require.NoError(t, err)
	changes, _ := plan(w, trunkHost(), false)
	require.Len(t, changes, 2)
	assert.Equal(t, []op{opVLAN{w.subs[0]}, opMaster{"tapaaaaaaaaaaa", subBridge}, opUp{"tapaaaaaaaaaaa", true}}, changes[0].Ops)
	assert.Equal(t, "tapttttttttttt", w.subs[0].parent)
	assert.Equal(t, "ttttttttttt-2", changes[0].Group, "a sub-port fails with its trunk")
}

// With the sub-ports in place nothing is planned; removing one deletes its
// device only; a sub-port in the wrong bridge is moved back.
func TestTrunkPlanRemovesAndRepairsSubPorts(t *testing.T) {
	o := trunkHost()
	parent := o.host["tapttttttttttt"]
	o.host["tapaaaaaaaaaaa"] = &hostDev{Name: "tapaaaaaaaaaaa", Kind: "vlan", Index: 30, Alias: "neutrino:port:aaaaaaaaaaa-4", MTU: 1450, Up: true,
		Master: subBridge, VlanID: 100, ParentIndex: parent.Index, MAC: "fa:16:3e:00:00:04"}
	o.host["tapbbbbbbbbbbb"] = &hostDev{Name: "tapbbbbbbbbbbb", Kind: "vlan", Index: 31, Alias: "neutrino:port:bbbbbbbbbbb-5", MTU: 1450, Up: true,
		Master: subBridge, VlanID: 200, ParentIndex: parent.Index, MAC: "fa:16:3e:00:00:05"}
	lines, err := planLines(t, trunkDesired(), o)
	require.NoError(t, err)
	assert.Empty(t, lines)

	d := trunkDesired()
	d.Ports[1].TrunkDetails.SubPorts = d.Ports[1].TrunkDetails.SubPorts[:1]
	lines, err = planLines(t, d, o)
	require.NoError(t, err)
	assert.Equal(t, []string{"delete port tapbbbbbbbbbbb"}, lines)

	o.host["tapaaaaaaaaaaa"].Master = unitBridge
	o.host["tapbbbbbbbbbbb"].VlanID = 201
	lines, err = planLines(t, trunkDesired(), o)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"update port tapaaaaaaaaaaa: master brqnnnnnnnn-11 -> brqsssssssss-2",
		"update port tapbbbbbbbbbbb: re-create (tapbbbbbbbbbbb (vlan 200 on tapttttttttttt, mac fa:16:3e:00:00:05, bridge brqsssssssss-2))",
	}, lines)
}

func TestTrunkValidationNamesTheField(t *testing.T) {
	for name, tc := range map[string]struct {
		mutate func(d *Desired)
		is     error
		want   string
	}{
		"duplicate segmentation ID": {func(d *Desired) {
			d.Ports[1].TrunkDetails.SubPorts[1] = SubPort{PortID: "bbbbbbbbbbb-5", SegmentationType: "vlan", SegmentationID: 100}
		},
			errdefs.ErrConflict, "ports[1].trunk_details.sub_ports[1].segmentation_id: VLAN 100 repeats trunk_details.sub_ports[0]'s"},
		"inherited duplicate": {func(d *Desired) { d.Ports[1].TrunkDetails.SubPorts[0].SegmentationID = 200 },
			errdefs.ErrConflict, "ports[1].trunk_details.sub_ports[1].segmentation_id: VLAN 200 (inherited)"},
		"VLAN ID out of range": {func(d *Desired) { d.Ports[1].TrunkDetails.SubPorts[0].SegmentationID = 4095 },
			errdefs.ErrInvalid, "ports[1].trunk_details.sub_ports[0].segmentation_id: 4095"},
		"segmentation type": {func(d *Desired) { d.Ports[1].TrunkDetails.SubPorts[0].SegmentationType = "vxlan" },
			errdefs.ErrInvalid, "ports[1].trunk_details.sub_ports[0].segmentation_type"},
		"sub-port missing": {func(d *Desired) { d.Ports = d.Ports[:4] },
			errdefs.ErrNotFound, "ports[1].trunk_details.sub_ports[1].port_id: port bbbbbbbbbbb-5 is not among the desired ports"},
		"parent as sub-port": {func(d *Desired) { d.Ports[1].TrunkDetails.SubPorts[0].PortID = "ttttttttttt-2" },
			errdefs.ErrInvalid, "ports[1].trunk_details.sub_ports[0].port_id: ttttttttttt-2 is the trunk's parent port"},
	} {
		t.Run(name, func(t *testing.T) {
			d := trunkDesired()
			tc.mutate(&d)
			_, err := d.validate()
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
