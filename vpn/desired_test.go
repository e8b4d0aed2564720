package vpn

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// siteDoc is a router r1 with gateway 203.0.113.10 and subnet s1
// 10.1.0.0/24, a legacy-mode service and one connection to 203.0.113.20.
const siteDoc = `{
 "routers": [{"id": "r1", "external_gateway_info": {"network_id": "ext"}}],
 "subnets": [{"id": "s1", "network_id": "n1", "ip_version": 4, "cidr": "10.1.0.0/24"},
             {"id": "s2", "network_id": "n2", "ip_version": 4, "cidr": "10.2.0.0/24"},
             {"id": "sx", "network_id": "ext", "ip_version": 4, "cidr": "203.0.113.0/24"}],
 "ports": [{"id": "gw", "network_id": "ext", "device_owner": "network:router_gateway", "device_id": "r1",
            "fixed_ips": [{"subnet_id": "sx", "ip_address": "203.0.113.10"}]},
           {"id": "if1", "network_id": "n1", "device_owner": "network:router_interface", "device_id": "r1",
            "fixed_ips": [{"subnet_id": "s1", "ip_address": "10.1.0.1"}]},
           {"id": "if2", "network_id": "n2", "device_owner": "network:router_interface", "device_id": "r1",
            "fixed_ips": [{"subnet_id": "s2", "ip_address": "10.2.0.1"}]}],
 "ikepolicies": [{"id": "ike1", "ike_version": "v2", "encryption_algorithm": "aes-256", "auth_algorithm": "sha256", "pfs": "group14"}],
 "ipsecpolicies": [{"id": "esp1", "encryption_algorithm": "aes-128-gcm-16", "pfs": "group19", "lifetime": {"units": "seconds", "value": 1800}}],
 "vpnservices": [{"id": "vs1", "router_id": "r1", "subnet_id": "s1"}, {"id": "vs2", "router_id": "r1"}],
 "endpoint_groups": [{"id": "local", "type": "subnet", "endpoints": ["s1", "s2"]},
                     {"id": "peer", "type": "cidr", "endpoints": ["10.9.0.0/16"]}],
 "ipsec_site_connections": [
   {"id": "c1", "vpnservice_id": "vs1", "ikepolicy_id": "ike1", "ipsecpolicy_id": "esp1", "peer_address": "203.0.113.20",
    "peer_id": "203.0.113.20", "peer_cidrs": ["10.8.0.0/24"], "psk": "hunter2-secret", "initiator": "response-only"},
   {"id": "c2", "vpnservice_id": "vs2", "ikepolicy_id": "ike1", "ipsecpolicy_id": "esp1", "peer_address": "peer.example.net",
    "peer_id": "@peer", "local_ep_group_id": "local", "peer_ep_group_id": "peer", "psk": "hunter2-secret",
    "dpd": {"action": "restart", "interval": 10, "timeout": 40}}]
}`

func load(t *testing.T, edit func(*Desired)) *Desired {
	t.Helper()
	var d Desired
	if err := json.Unmarshal([]byte(siteDoc), &d); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&d)
	}
	return &d
}

func TestCompileTranslatesNeutronToCharon(t *testing.T) {
	rvs, err := load(t, nil).compile()
	if err != nil {
		t.Fatal(err)
	}
	if len(rvs) != 1 || rvs[0].RouterID != "r1" || len(rvs[0].Conns) != 2 {
		t.Fatalf("got %+v", rvs)
	}
	c1, c2 := rvs[0].Conns[0], rvs[0].Conns[1]
	got := fmt.Sprintf("%s v%s %s>%s ids %s/%s ts %v>%v ike %s esp %s rekey %d/%d dpd %s %d/%d init %v",
		c1.ID, c1.Version, c1.LocalAddr, c1.RemoteAddr, c1.LocalID, c1.RemoteID, c1.LocalTS, c1.RemoteTS,
		c1.IKEProposal, c1.ESPProposal, c1.IKERekey, c1.ChildRekey, c1.DPDAction, c1.DPDDelay, c1.DPDTimeout, c1.Initiate)
	want := "c1 v2 203.0.113.10>203.0.113.20 ids 203.0.113.10/203.0.113.20 ts [10.1.0.0/24]>[10.8.0.0/24] " +
		"ike aes256-sha256-modp2048 esp aes128gcm16-ecp256 rekey 3600/1800 dpd trap 30/120 init false"
	if got != want {
		t.Errorf("c1:\n got %s\nwant %s", got, want)
	}
	if c2.RemoteAddr != "peer.example.net" || fmt.Sprint(c2.LocalTS) != "[10.1.0.0/24 10.2.0.0/24]" ||
		fmt.Sprint(c2.RemoteTS) != "[10.9.0.0/16]" || c2.DPDAction != "restart" || c2.DPDDelay != 10 || !c2.Initiate {
		t.Errorf("c2: %+v", c2)
	}
}

func TestValidateNamesFieldPaths(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Desired)
		want string
		kind error
	}{
		{"unknown service", func(d *Desired) { d.IPsecSiteConnections[0].VPNServiceID = "nope" },
			"ipsec_site_connections[0].vpnservice_id: vpnservice \"nope\" does not exist (ipsec site connection c1)", errdefs.ErrNotFound},
		{"3des-cmac refused by name", func(d *Desired) { d.IKEPolicies[0].AuthAlgorithm = "aes-cmac" },
			"ikepolicies[0].auth_algorithm: aes-cmac is not realized by Neutrino", errdefs.ErrUnsupported},
		{"ctr refused", func(d *Desired) { d.IPsecPolicies[0].EncryptionAlgorithm = "aes-256-ctr" },
			"ipsecpolicies[0].encryption_algorithm: aes-256-ctr is not realized", errdefs.ErrUnsupported},
		{"bad algorithm", func(d *Desired) { d.IPsecPolicies[0].PFS = "group99" },
			`ipsecpolicies[0].pfs: "group99" is not a Neutron pfs`, errdefs.ErrInvalid},
		{"ah refused", func(d *Desired) { d.IPsecPolicies[0].TransformProtocol = "ah" },
			"ipsecpolicies[0].transform_protocol: ah is not realized", errdefs.ErrUnsupported},
		{"transport refused", func(d *Desired) { d.IPsecPolicies[0].EncapsulationMode = "transport" },
			"ipsecpolicies[0].encapsulation_mode: transport is not realized", errdefs.ErrUnsupported},
		{"short lifetime", func(d *Desired) { d.IKEPolicies[0].Lifetime = &Lifetime{Units: "seconds", Value: 10} },
			"ikepolicies[0].lifetime.value: 10 is below", errdefs.ErrInvalid},
		{"mixed selectors", func(d *Desired) { d.IPsecSiteConnections[0].LocalEPGroupID = "local" },
			"ipsec_site_connections[0].local_ep_group_id: vpnservice vs1 names a subnet", errdefs.ErrInvalid},
		{"peer cidrs without subnet", func(d *Desired) {
			d.IPsecSiteConnections[1].PeerCIDRs = []netip.Prefix{netip.MustParsePrefix("10.7.0.0/24")}
		},
			"ipsec_site_connections[1].peer_cidrs: vpnservice vs2 names no subnet", errdefs.ErrInvalid},
		{"groups swapped", func(d *Desired) { d.IPsecSiteConnections[1].LocalEPGroupID = "peer" },
			"ipsec_site_connections[1].local_ep_group_id: endpoint group peer is of type cidr, not subnet", errdefs.ErrInvalid},
		{"overlap", func(d *Desired) { d.IPsecSiteConnections[0].PeerCIDRs[0] = netip.MustParsePrefix("10.1.0.128/25") },
			"ipsec_site_connections[0].peer_cidrs[0]: 10.1.0.128/25 overlaps the local subnet 10.1.0.0/24", errdefs.ErrConflict},
		{"dpd timeout", func(d *Desired) { d.IPsecSiteConnections[1].DPD.Timeout = 5 },
			"ipsec_site_connections[1].dpd.timeout: 5 must exceed the interval (10)", errdefs.ErrInvalid},
		{"restart-by-peer", func(d *Desired) { d.IPsecSiteConnections[1].DPD.Action = "restart-by-peer" },
			"ipsec_site_connections[1].dpd.action: restart-by-peer is not realized", errdefs.ErrUnsupported},
		{"mtu", func(d *Desired) { d.IPsecSiteConnections[1].MTU = 1400 },
			"ipsec_site_connections[1].mtu: 1400 is not realized", errdefs.ErrUnsupported},
		{"network group", func(d *Desired) { d.EndpointGroups[0].Type = "network" },
			"endpoint_groups[0].type: network endpoint groups are not realized", errdefs.ErrUnsupported},
		{"subnet off router", func(d *Desired) { d.VPNServices[0].SubnetID = "sx" },
			"vpnservices[0].subnet_id: subnet sx is not on an interface of router r1", errdefs.ErrNotFound},
		{"no gateway", func(d *Desired) { d.Ports = d.Ports[1:] },
			"vpnservices[0].router_id: router r1 has no gateway", errdefs.ErrInvalid},
		{"bad peer", func(d *Desired) { d.IPsecSiteConnections[0].PeerAddress = "not an address" },
			`ipsec_site_connections[0].peer_address: "not an address" is neither`, errdefs.ErrInvalid},
		{"missing psk", func(d *Desired) { d.IPsecSiteConnections[0].PSK = "" },
			"ipsec_site_connections[0].psk: a pre-shared key is required", errdefs.ErrInvalid},
		{"duplicate", func(d *Desired) { d.IPsecSiteConnections[1].ID = "c1" },
			"ipsec_site_connections[1].id: c1 repeats", errdefs.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := load(t, tc.edit).Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, tc.kind) {
				t.Fatalf("got %v\nwant %q (%v)", err, tc.want, tc.kind)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error carries the PSK: %v", err)
			}
		})
	}
}

func TestDownConnectionsAreNotRealized(t *testing.T) {
	off := false
	rvs, err := load(t, func(d *Desired) {
		d.IPsecSiteConnections[0].AdminStateUp = &off
		d.VPNServices[1].AdminStateUp = &off
	}).compile()
	if err != nil || len(rvs) != 0 {
		t.Fatalf("got %v %v", rvs, err)
	}
}

func TestNoSNATListsPeerCIDRsPerRouter(t *testing.T) {
	got := fmt.Sprint(load(t, nil).NoSNAT())
	if got != "map[r1:[10.8.0.0/24 10.9.0.0/16]]" {
		t.Fatal(got)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	d := load(t, nil)
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("conn", "c", d.IPsecSiteConnections[0], "psk", d.IPsecSiteConnections[0].PSK)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", d.IPsecSiteConnections[0], d.IPsecSiteConnections[0], d.IPsecSiteConnections[0], d.IPsecSiteConnections[0].PSK), b.String()} {
		if strings.Contains(s, "hunter2") || !strings.Contains(s, "redacted") {
			t.Fatalf("printed: %s", s)
		}
	}
}
