package neutrino

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
)

// TestValidateRefusesWhatIsNotRealized asks, one at a time, for each Neutron
// field, value or collection Neutrino does not realize, and checks that
// Validate refuses it with ErrUnsupported, naming the field's path and the
// object.
func TestValidateRefusesWhatIsNotRealized(t *testing.T) {
	raw := json.RawMessage(`{"id": "x1"}`)
	for _, tc := range []struct {
		name   string
		mutate func(*Topology)
		path   string
		object string
	}{
		{"HA router", func(t *Topology) { t.Routers[0].HA = true }, "routers[0].ha: not realized", "(router a64d1a3a-a1a2-521e-9681-b49f93a7741a)"},
		{"distributed router", func(t *Topology) { t.Routers[0].Distributed = true }, "routers[0].distributed: not realized", "(router a64d1a3a-a1a2-521e-9681-b49f93a7741a)"},
		{"conntrack helpers", func(t *Topology) { t.Routers[0].ConntrackHelpers = []json.RawMessage{raw} }, "routers[0].conntrack_helpers: not realized", "(router a64d1a3a"},
		{"multi-segment network", func(t *Topology) {
			t.Networks[netT1].Segments = []network.Segment{{NetworkType: "vxlan", SegmentationID: 101}, {NetworkType: "vlan", PhysicalNetwork: "p", SegmentationID: 5}}
		}, "networks[1].segments: not realized", "(network 0c1c39af-e6b3-5c48-86f2-1c2206c1e88b)"},
		{"vnic type direct", func(t *Topology) { t.Ports[portVM1].VNICType = "direct" }, "ports[5].binding:vnic_type: not realized", "(port f5019152"},
		{"HA router port", func(t *Topology) { t.Ports[portIf1].DeviceOwner = port.OwnerHARouterInterface }, "ports[1].device_owner: not realized", "(port 50d1cd23"},
		{"DVR router port", func(t *Topology) { t.Ports[portIf1].DeviceOwner = port.OwnerRouterInterfaceDistributed }, "ports[1].device_owner: not realized", "(port 50d1cd23"},
		{"HA network port", func(t *Topology) { t.Ports[portVM1].DeviceOwner = port.OwnerRouterHAInterface }, "ports[5].device_owner: not realized", "(port f5019152"},
		{"DVR SNAT port", func(t *Topology) { t.Ports[portVM1].DeviceOwner = port.OwnerRouterCentralizedSNAT }, "ports[5].device_owner: not realized", "(port f5019152"},
		{"DVR FIP gateway port", func(t *Topology) { t.Ports[portVM1].DeviceOwner = port.OwnerFloatingIPAgentGateway }, "ports[5].device_owner: not realized", "(port f5019152"},
		{"FIP QoS", func(t *Topology) { t.FloatingIPs[0].QoSPolicyID = "q1" }, "floatingips[0].qos_policy_id: not realized", "(floating IP bde24256"},
		{"gateway QoS", func(t *Topology) { t.Routers[0].ExternalGatewayInfo.QoSPolicyID = "q1" }, "routers[0].external_gateway_info.qos_policy_id: not realized", "(router a64d1a3a"},
		{"port forwardings", func(t *Topology) { t.PortForwardings = []json.RawMessage{raw} }, "port_forwardings[0]: not realized", "(port forwarding x1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo := load(t, "all-in-one.json")
			tc.mutate(topo)
			err := topo.Validate()
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%v\ndoes not wrap ErrUnsupported", err)
			}
			var line string
			for _, l := range strings.Split(err.Error(), "\n") {
				if strings.Contains(l, tc.path) {
					line = l
				}
			}
			if line == "" || !strings.Contains(line, tc.object) {
				t.Fatalf("%v\ndoes not name %q with %q", err, tc.path, tc.object)
			}
			checkShape(t, err)
			if _, err := validateAndSlice(topo); !errors.Is(err, ErrUnsupported) {
				t.Errorf("ForHost after a refused Validate: %v", err)
			}
		})
	}
}

// validateAndSlice is what an agent does before realizing anything: Validate,
// then slice.
func validateAndSlice(topo *Topology) (*Topology, error) {
	if err := topo.Validate(); err != nil {
		return nil, err
	}
	return topo.ForHost("node1")
}

// Real Neutron output carries the "off" values of what Neutrino does not
// realize on every object: they load and validate.
func TestNeutronOffValuesOfUnrealizedFieldsLoad(t *testing.T) {
	var doc map[string]any
	b, err := json.Marshal(load(t, "all-in-one.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc["routers"].([]any) {
		m := r.(map[string]any)
		m["ha"], m["distributed"], m["conntrack_helpers"] = false, false, []any{}
		m["external_gateway_info"].(map[string]any)["qos_policy_id"] = nil
	}
	for _, n := range doc["networks"].([]any) {
		n.(map[string]any)["qos_policy_id"] = nil
	}
	for _, p := range doc["ports"].([]any) {
		m := p.(map[string]any)
		m["qos_policy_id"], m["binding:vnic_type"], m["qos_network_policy_id"] = nil, "normal", nil
		m["trunk_details"] = map[string]any{"trunk_id": "t1", "sub_ports": []any{}}
	}
	for _, f := range doc["floatingips"].([]any) {
		f.(map[string]any)["port_forwardings"], f.(map[string]any)["qos_policy_id"] = []any{}, nil
	}
	doc["trunks"], doc["qos_policies"], doc["port_forwardings"] = []any{}, []any{}, nil
	b, _ = json.Marshal(doc)
	topo, err := Load(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	if topo.Routers[0].HA || topo.Ports[portVM1].VNICType != port.VNICNormal || topo.Ports[portVM1].TrunkDetails == nil {
		t.Errorf("fields not read: %+v %+v", topo.Routers[0], topo.Ports[portVM1])
	}
}

// Ports of HA and distributed routers are router-owned: whatever the
// document says, they are never plugged as instance taps.
func TestRouterOwnedPortsAreNeverPlugged(t *testing.T) {
	topo := load(t, "all-in-one.json")
	owners := []string{port.OwnerHARouterInterface, port.OwnerRouterInterfaceDistributed, port.OwnerRouterHAInterface,
		port.OwnerRouterCentralizedSNAT, port.OwnerFloatingIPAgentGateway, port.OwnerRouterInterface, port.OwnerRouterGateway}
	for i, owner := range owners {
		p := topo.Ports[portVM1]
		p.ID, p.DeviceOwner = strings.Repeat(string(rune('a'+i)), 11)+"-x", owner
		if p.PlugsInstance() || !p.IsRouterOwned() {
			t.Errorf("%s: PlugsInstance %v, IsRouterOwned %v", owner, p.PlugsInstance(), p.IsRouterOwned())
		}
		topo.Ports = append(topo.Ports, p)
	}
	_, pd := port.L2ForHost("node1", nil, topo.Networks, topo.Subnets, topo.Ports)
	for _, p := range pd.Ports {
		if p.IsRouterOwned() {
			t.Errorf("L2ForHost plugs router port %s (%s)", p.ID, p.DeviceOwner)
		}
	}
	if len(pd.Ports) != 3 {
		t.Errorf("L2ForHost plugs %d ports, want the 3 instances", len(pd.Ports))
	}
}
