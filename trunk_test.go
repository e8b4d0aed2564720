package neutrino

import (
	"errors"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/port"
)

// Trunks: the parent's trunk_details names sub-ports that exist as
// trunk:subport ports; a trunk object agrees with it; duplicate VLAN IDs
// are refused naming the field.
func TestTrunks(t *testing.T) {
	topo := load(t, "all-in-one.json")
	parent := &topo.Ports[portVM1]
	sub := topo.Ports[portVM2]
	sub.ID, sub.DeviceOwner, sub.HostID, sub.FixedIPs = "5b000000-0000-4000-8000-000000000001", port.OwnerTrunkSubport, parent.HostID, nil
	sub.MACAddress = port.MustParseMAC("fa:16:3e:99:99:01")
	topo.Ports = append(topo.Ports, sub)
	parent = &topo.Ports[portVM1]
	subs := []port.SubPort{{PortID: sub.ID, SegmentationType: port.SegmentationVLAN, SegmentationID: 100}}
	parent.TrunkDetails = &port.TrunkDetails{TrunkID: "t1", SubPorts: subs}
	topo.Trunks = []port.Trunk{{ID: "t1", PortID: parent.ID, SubPorts: subs}}
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	topo.Trunks[0].SubPorts = append(topo.Trunks[0].SubPorts, port.SubPort{PortID: "other", SegmentationType: "vlan", SegmentationID: 100})
	if err := topo.Validate(); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "trunks[0].sub_ports[1].segmentation_id: VLAN 100 repeats sub_ports[0]'s") {
		t.Errorf("duplicate segmentation ID: %v", err)
	}
	topo.Trunks = nil
	parent.TrunkDetails.SubPorts = []port.SubPort{{PortID: "nope", SegmentationType: "vlan", SegmentationID: 7}}
	if err := topo.Validate(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ports[5].trunk_details.sub_ports[0].port_id: port nope does not exist") {
		t.Errorf("missing sub-port: %v", err)
	}
}
