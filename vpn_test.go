package neutrino

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/vpn"
)

// withVPN adds to threeNodes a VPN service on its router (on node1) with one
// connection from the router's first subnet to 10.8.0.0/24.
func withVPN(t *testing.T) *Topology {
	topo := threeNodes(t)
	r := topo.Routers[0].ID
	var sub string
	for _, p := range topo.Ports {
		if p.DeviceOwner == "network:router_interface" && p.DeviceID == r {
			sub = p.FixedIPs[0].SubnetID
			break
		}
	}
	topo.IKEPolicies = []vpn.IKEPolicy{{ID: "ike1"}, {ID: "ike-unused"}}
	topo.IPsecPolicies = []vpn.IPsecPolicy{{ID: "esp1"}}
	topo.VPNServices = []vpn.Service{{ID: "vs1", RouterID: r, SubnetID: sub}}
	topo.IPsecSiteConnections = []vpn.SiteConnection{{ID: "c1", VPNServiceID: "vs1", IKEPolicyID: "ike1", IPsecPolicyID: "esp1",
		PeerAddress: "198.51.100.7", PeerID: "198.51.100.7", PeerCIDRs: []netip.Prefix{netip.MustParsePrefix("10.8.0.0/24")}, PSK: "s3cret-psk"}}
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestValidateVPNPaths(t *testing.T) {
	topo := withVPN(t)
	topo.IPsecPolicies[0].TransformProtocol = "ah"
	topo.VPNServices[0].RouterID = "nope"
	err := topo.Validate()
	for _, want := range []string{
		"ipsecpolicies[0].transform_protocol: ah is not realized by Neutrino",
		`vpnservices[0].router_id: router "nope" does not exist (vpnservice vs1)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("sentinels or secret: %v", err)
	}
}

func TestForHostVPNLivesWithItsRouter(t *testing.T) {
	topo := withVPN(t)
	s := slice(t, topo, "node1")
	if len(s.VPNServices) != 1 || len(s.IPsecSiteConnections) != 1 || len(s.IKEPolicies) != 1 || len(s.IPsecPolicies) != 1 {
		t.Fatalf("node1: %d services %d connections %d ike %d esp", len(s.VPNServices), len(s.IPsecSiteConnections), len(s.IKEPolicies), len(s.IPsecPolicies))
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("the slice does not validate on its own: %v", err)
	}
	d := s.VPN()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := d.NoSNAT()[topo.Routers[0].ID]; len(got) != 1 || got[0].String() != "10.8.0.0/24" {
		t.Fatalf("no-SNAT: %v", got)
	}
	if s2 := slice(t, topo, "node2"); len(s2.VPNServices)+len(s2.IPsecSiteConnections)+len(s2.IKEPolicies) != 0 {
		t.Fatalf("node2 got VPN objects: %+v", s2.VPNServices)
	}
}
