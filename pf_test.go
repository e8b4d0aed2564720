package neutrino

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/router"
)

// A floating IP's port forwardings are checked against the document: the
// internal address must be a fixed IP of the internal port, on a subnet the
// FIP's router is attached to.
func TestPortForwardingReferences(t *testing.T) {
	topo := load(t, "all-in-one.json")
	f := topo.FloatingIPs[0]
	vm := topo.Ports[portVM1]
	pf := router.PortForwarding{ID: "pf1", Protocol: "tcp", ExternalPort: 2222, InternalPort: 22,
		InternalPortID: vm.ID, InternalIPAddress: vm.FixedIPs[0].IPAddress}
	topo.FloatingIPs = append(topo.FloatingIPs, router.FloatingIP{ID: "ff000000-0000-4000-8000-000000000000",
		FloatingIPAddress: netip.MustParseAddr("203.0.113.51"), FloatingNetworkID: f.FloatingNetworkID,
		RouterID: f.RouterID, PortForwardings: []router.PortForwarding{pf}})
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	pfs := topo.FloatingIPs[1].PortForwardings
	pfs[0].InternalIPAddress = netip.MustParseAddr("100.64.250.250")
	if err := topo.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "floatingips[1].port_forwardings[0].internal_ip_address: 100.64.250.250 is not a fixed IP of port "+vm.ID) {
		t.Errorf("address not on the port: %v", err)
	}
	pfs[0].InternalPortID = "nope"
	if err := topo.Validate(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "floatingips[1].port_forwardings[0].internal_port_id: port nope does not exist") {
		t.Errorf("missing port: %v", err)
	}
}
