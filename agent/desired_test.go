package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino"
)

func loadExample(t *testing.T, name string) *neutrino.Topology {
	t.Helper()
	topo, err := neutrino.LoadFile("../examples/topologies/" + name)
	if err != nil {
		t.Fatal(err)
	}
	topo.Defaults()
	return topo
}

func TestDesiredForSelectsWhatTheHostRealizes(t *testing.T) {
	topo := loadExample(t, "all-in-one.json")
	d, err := DesiredFor(topo, "node1")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Network.Networks) != 3 || len(d.Port.Ports) != 3 {
		t.Errorf("L2: %d networks, %d instance ports; want 3 and 3", len(d.Network.Networks), len(d.Port.Ports))
	}
	if len(d.Router.Routers) != 1 || len(d.Router.FloatingIPs) != 1 {
		t.Errorf("router: %d routers, %d FIPs; want 1 and 1", len(d.Router.Routers), len(d.Router.FloatingIPs))
	}
	if len(d.Router.SubnetPools) != 2 || len(d.Router.AddressScopes) != 1 {
		t.Errorf("router: %d subnet pools, %d address scopes; want 2 and 1 (address-scope routing needs them)", len(d.Router.SubnetPools), len(d.Router.AddressScopes))
	}
	if d.BGP == nil || d.BGP.Speaker.ID == "" {
		t.Error("node1 runs a BGP speaker")
	}
	if len(d.SecGroup.Ports) == 0 || len(d.SecGroup.Members) != 0 {
		t.Errorf("secgroup: %d ports, %d remote members", len(d.SecGroup.Ports), len(d.SecGroup.Members))
	}
}

func TestDesiredForTwoNodesSplitsPorts(t *testing.T) {
	topo := loadExample(t, "two-node-vxlan.json")
	for _, h := range topo.Hosts {
		d, err := DesiredFor(topo, h.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Port.Ports {
			if p.HostID != h.Name {
				t.Errorf("%s plugs port %s bound to %s", h.Name, p.ID, p.HostID)
			}
		}
		if len(d.Network.Remote) == 0 || !d.Network.LocalIP.IsValid() {
			t.Errorf("%s: VXLAN needs remote endpoints and a local tunnel IP", h.Name)
		}
	}
}

func TestDesiredForRejectsInvalidTopology(t *testing.T) {
	topo := loadExample(t, "all-in-one.json")
	topo.Subnets[0].NetworkID = "missing"
	if _, err := DesiredFor(topo, "node1"); !errors.Is(err, neutrino.ErrNotFound) {
		t.Fatalf("dangling network_id: %v", err)
	}
}

// DesiredFor refuses what Neutrino does not realize, before computing
// anything for a realizer.
func TestDesiredForRefusesUnrealized(t *testing.T) {
	topo := loadExample(t, "all-in-one.json")
	topo.Ports[5].VNICType = "direct"
	d, err := DesiredFor(topo, "node1")
	if d != nil || !errors.Is(err, neutrino.ErrUnsupported) || !strings.Contains(err.Error(), "ports[5].binding:vnic_type") {
		t.Fatalf("got %v, %v; want ErrUnsupported naming ports[5].binding:vnic_type", d, err)
	}
}
