package agent

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/port"
)

// A trunk's sub-port reaches the secgroup realizer as a port of this node
// with its own groups, MAC and fixed IPs, beside its parent, and the port
// realizer gets it to plug as its parent's VLAN: secgroup compiles it into
// a policy of its own (secgroup's TestTrunkSubPortHasItsOwnPolicy).
func TestDesiredForGivesTrunkSubPortsTheirOwnSecurityGroups(t *testing.T) {
	topo := loadExample(t, "all-in-one.json")
	var parent, vm3 *port.Port
	for i := range topo.Ports {
		switch topo.Ports[i].Name {
		case "vm1":
			parent = &topo.Ports[i]
		case "vm3":
			vm3 = &topo.Ports[i]
		}
	}
	var ssh string
	for _, g := range topo.SecurityGroups {
		if g.Name == "ssh" {
			ssh = g.ID
		}
	}
	if parent == nil || vm3 == nil || ssh == "" {
		t.Fatal("all-in-one.json lacks vm1, vm3 or the ssh group")
	}
	sub := *vm3
	sub.ID, sub.Name, sub.DeviceOwner, sub.HostID = "5b000000-0000-4000-8000-000000000001", "vm1-sub", port.OwnerTrunkSubport, parent.HostID
	sub.MACAddress = port.MustParseMAC("fa:16:3e:99:99:01")
	sub.FixedIPs = []port.FixedIP{{SubnetID: vm3.FixedIPs[0].SubnetID, IPAddress: netip.MustParseAddr("10.0.2.50")}}
	sub.SecurityGroups = []string{ssh}
	sub.Profile = port.Profile{}
	parent.TrunkDetails = &port.TrunkDetails{TrunkID: "t1", SubPorts: []port.SubPort{
		{PortID: sub.ID, SegmentationType: port.SegmentationVLAN, SegmentationID: 100}}}
	topo.Ports = append(topo.Ports, sub)

	d, err := DesiredFor(topo, "node1")
	if err != nil {
		t.Fatal(err)
	}
	find := func(ps []port.Port) *port.Port {
		i := slices.IndexFunc(ps, func(p port.Port) bool { return p.ID == sub.ID })
		if i < 0 {
			return nil
		}
		return &ps[i]
	}
	if find(d.Port.Ports) == nil {
		t.Error("the port realizer does not get the sub-port to plug")
	}
	got := find(d.SecGroup.Ports)
	if got == nil {
		t.Fatal("the secgroup realizer does not get the sub-port as a port of this node")
	}
	if !slices.Equal(got.SecurityGroups, []string{ssh}) || got.MACAddress.String() != "fa:16:3e:99:99:01" ||
		len(got.FixedIPs) != 1 || got.FixedIPs[0].IPAddress != netip.MustParseAddr("10.0.2.50") {
		t.Errorf("sub-port as secgroup gets it: groups %v, MAC %s, fixed IPs %v", got.SecurityGroups, got.MACAddress, got.FixedIPs)
	}
	if err := d.SecGroup.Validate(); err != nil {
		t.Errorf("secgroup refuses the node's ports with the sub-port: %v", err)
	}
}
