package neutrino

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
)

// A floating IP used only by port forwardings has router_id set and
// port_id null: it loads, validates, reaches its router's node and is not
// NATed (the router realizer translates associated FIPs only).
func TestPortForwardingOnlyFloatingIP(t *testing.T) {
	topo := load(t, "all-in-one.json")
	f := topo.FloatingIPs[0]
	doc := `{"id": "ff000000-0000-4000-8000-000000000000", "floating_ip_address": "203.0.113.51",
	  "floating_network_id": "` + f.FloatingNetworkID + `", "router_id": "` + f.RouterID + `",
	  "port_id": null, "fixed_ip_address": null, "port_forwardings": []}`
	pf, err := Load(strings.NewReader(`{"floatingips": [` + doc + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	topo.FloatingIPs = append(topo.FloatingIPs, pf.FloatingIPs[0])
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	slice, err := topo.ForHost("node1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(slice.FloatingIPs, func(x router.FloatingIP) bool { return x.ID == pf.FloatingIPs[0].ID && !x.Associated() }) {
		t.Errorf("the router's node does not see its port-forwarding FIP: %+v", slice.FloatingIPs)
	}
	// Its router must still exist and have a gateway on the FIP's network.
	topo.FloatingIPs[1].RouterID = "nope"
	if err := topo.Validate(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "floatingips[1].router_id: router nope does not exist") {
		t.Errorf("dangling router: %v", err)
	}
}

// The API lists rules as their own collection; they are merged into their
// groups by security_group_id.
func TestTopLevelSecurityGroupRules(t *testing.T) {
	topo := load(t, "all-in-one.json")
	g := &topo.SecurityGroups[sgSSH]
	moved := g.Rules[len(g.Rules)-1]
	moved.SecurityGroupID = g.ID
	g.Rules = g.Rules[:len(g.Rules)-1]
	nested := len(g.Rules)
	twice := topo.SecurityGroups[sgDefault].Rules[0] // also nested: identical, tolerated
	twice.SecurityGroupID = topo.SecurityGroups[sgDefault].ID
	topo.SecurityGroupRules = []secgroup.Rule{moved, twice}
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	slice, err := topo.ForHost("node1")
	if err != nil {
		t.Fatal(err)
	}
	if len(slice.SecurityGroupRules) != 0 {
		t.Errorf("the slice lists %d rules on their own; they belong in their groups", len(slice.SecurityGroupRules))
	}
	for _, sg := range slice.SecurityGroups {
		switch sg.ID {
		case g.ID:
			if len(sg.Rules) != nested+1 || sg.Rules[nested].ID != moved.ID {
				t.Errorf("group %s: %d rules, want the %d nested and %s", sg.ID, len(sg.Rules), nested, moved.ID)
			}
		case topo.SecurityGroups[sgDefault].ID:
			if len(sg.Rules) != len(topo.SecurityGroups[sgDefault].Rules) {
				t.Errorf("a rule listed twice identically was merged twice: %d rules", len(sg.Rules))
			}
		}
	}
	if len(g.Rules) != nested {
		t.Error("ForHost changed the document's group")
	}

	for _, tc := range []struct {
		name   string
		mutate func(r *secgroup.Rule)
		kind   error
		want   string
	}{
		{"dangling group", func(r *secgroup.Rule) { r.SecurityGroupID = "nope" }, ErrNotFound, "security_group_rules[0].security_group_id: security group nope does not exist (security group rule " + moved.ID + ")"},
		{"no group", func(r *secgroup.Rule) { r.SecurityGroupID = "" }, ErrInvalid, "security_group_rules[0].security_group_id: required"},
		{"bad rule", func(r *secgroup.Rule) { r.Direction = "up" }, ErrInvalid, `security_group_rules[0].direction: "up" is not ingress or egress (security group rule ` + moved.ID + ")"},
		{"differs from its nested listing", func(r *secgroup.Rule) { *r = twice; r.Description = "other" }, ErrConflict, "security_group_rules[0]: differs from the rule with its ID in security group " + twice.SecurityGroupID + " (security group rule " + twice.ID + ")"},
		{"duplicate of another rule", func(r *secgroup.Rule) { *r = twice; r.ID = "new-id" }, ErrConflict, "security_group_rules[0]: duplicates rule " + twice.ID},
		{"remote group missing", func(r *secgroup.Rule) { r.RemoteIPPrefix, r.RemoteGroupID = netip.Prefix{}, "nope" }, ErrNotFound, "security_group_rules[0].remote_group_id: security group nope does not exist"},
		{"in another group too", func(r *secgroup.Rule) { *r = twice; r.SecurityGroupID = g.ID }, ErrConflict, "security_group_rules[0].id: the rule is also in security group " + twice.SecurityGroupID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := moved
			tc.mutate(&bad)
			topo.SecurityGroupRules = []secgroup.Rule{bad}
			err := topo.Validate()
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v\nwant %v naming %q", err, tc.kind, tc.want)
			}
			checkShape(t, err)
		})
	}
}

// Real API output of a BGP peer carries remote_as as a string; garbage is
// refused naming the field.
func TestLoadASNumbers(t *testing.T) {
	topo, err := Load(strings.NewReader(`{"bgp_peers": [{"id": "p", "peer_ip": "198.51.100.1", "remote_as": "64513", "auth_type": "md5"}],
	  "bgp_speakers": [{"id": "s", "local_as": 64512, "ip_version": 4}]}`))
	if err != nil || topo.BGPPeers[0].RemoteAS != 64513 {
		t.Fatalf("%v %+v", err, topo)
	}
	if err := topo.Validate(); err != nil {
		t.Errorf("an md5 peer without its password (never shown by the API): %v", err)
	}
	_, err = Load(strings.NewReader(`{"bgp_peers": [{}, {"remote_as": "AS64513"}]}`))
	if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), "bgp_peers[1].remote_as: ") || !strings.Contains(err.Error(), "AS64513") {
		t.Errorf("garbage AS: %v", err)
	}
}

// A network listed without the admin-only provider attributes takes the
// configured tenant network type, never a silent local; a vxlan network
// still needs its VNI, and the error names it.
func TestTenantNetworkType(t *testing.T) {
	doc := `{"networks": [{"id": "n1"}], "subnets": [{"id": "s1", "network_id": "n1", "cidr": "10.0.0.0/24"}]}`
	topo, _ := Load(strings.NewReader(doc))
	topo.Defaults()
	err := topo.Validate()
	if topo.Networks[0].NetworkType != "vxlan" || !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), "networks[0].provider:segmentation_id: required for a vxlan network") || !strings.Contains(err.Error(), "(network n1)") {
		t.Errorf("default tenant type: %s, %v", topo.Networks[0].NetworkType, err)
	}
	topo, _ = Load(strings.NewReader(doc))
	topo.Defaults(WithTenantNetworkType("local"))
	if err := topo.Validate(); err != nil || topo.Networks[0].NetworkType != "local" {
		t.Errorf("configured local: %s, %v", topo.Networks[0].NetworkType, err)
	}
}
