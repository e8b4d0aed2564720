package firewall

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

// disabled is a pointer target for Enabled: false.
var disabled = false

// unitDesired is a small valid firewall: one group on a router interface.
func unitDesired() Desired {
	return Desired{
		FirewallRules: []Rule{
			{ID: "r1", Protocol: "tcp", DestinationPort: "22", Action: "allow"},
			{ID: "r2", Protocol: "udp", IPVersion: 6, SourceIPAddress: MustParseAddress("2001:db8::/32"), DestinationPort: "1000:2000", Action: "reject"},
			{ID: "r3"},
		},
		FirewallPolicies: []Policy{{ID: "p1", Rules: []string{"r1", "r2"}}, {ID: "p2", Rules: []string{"r3"}}},
		FirewallGroups:   []Group{{ID: "g1", Ports: []string{"qr1"}, IngressPolicyID: "p1", EgressPolicyID: "p2"}},
		Ports: []port.Port{
			{ID: "qr1", NetworkID: "n1", DeviceOwner: port.OwnerRouterInterface, DeviceID: "router1"},
			{ID: "qr2", NetworkID: "n2", DeviceOwner: port.OwnerRouterInterface, DeviceID: "router1"},
			{ID: "gw1", NetworkID: "ext", DeviceOwner: port.OwnerRouterGateway, DeviceID: "router1"},
			{ID: "vm1", NetworkID: "n1", DeviceOwner: "compute:nova"},
			{ID: "dhcp1", NetworkID: "n1", DeviceOwner: "network:dhcp"},
		},
	}
}

func TestValidateAcceptsUnitDesired(t *testing.T) {
	d := unitDesired()
	require.NoError(t, d.Validate())
}

func TestValidateNamesTheField(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(d *Desired)
		path string
		is   error
	}{
		{"backwards port range", func(d *Desired) { d.FirewallRules[0].DestinationPort = "90:80" }, "firewall_rules[0].destination_port", errdefs.ErrInvalid},
		{"port out of range", func(d *Desired) { d.FirewallRules[0].SourcePort = "70000" }, "firewall_rules[0].source_port", errdefs.ErrInvalid},
		{"port without a protocol", func(d *Desired) { d.FirewallRules[2].DestinationPort = "80" }, "firewall_rules[2].destination_port", errdefs.ErrInvalid},
		{"port with icmp", func(d *Desired) { d.FirewallRules[2].Protocol, d.FirewallRules[2].DestinationPort = "icmp", "80" }, "firewall_rules[2].destination_port", errdefs.ErrInvalid},
		{"unknown protocol", func(d *Desired) { d.FirewallRules[0].Protocol = "gre" }, "firewall_rules[0].protocol", errdefs.ErrInvalid},
		{"ipv6-icmp with version 4", func(d *Desired) { d.FirewallRules[2].Protocol = "ipv6-icmp" }, "firewall_rules[2].protocol", errdefs.ErrInvalid},
		{"ip_version 5", func(d *Desired) { d.FirewallRules[0].IPVersion = 5 }, "firewall_rules[0].ip_version", errdefs.ErrInvalid},
		{"v6 address with version 4", func(d *Desired) { d.FirewallRules[0].DestinationIPAddress = MustParseAddress("2001:db8::1") }, "firewall_rules[0].destination_ip_address", errdefs.ErrInvalid},
		{"v4 address with version 6", func(d *Desired) { d.FirewallRules[1].SourceIPAddress = MustParseAddress("192.0.2.0/24") }, "firewall_rules[1].source_ip_address", errdefs.ErrInvalid},
		{"unknown action", func(d *Desired) { d.FirewallRules[0].Action = "permit" }, "firewall_rules[0].action", errdefs.ErrInvalid},
		{"rule without ID", func(d *Desired) { d.FirewallRules[2].ID = "" }, "firewall_rules[2].id", errdefs.ErrInvalid},
		{"duplicate rule ID", func(d *Desired) { d.FirewallRules[2].ID = "r1" }, "firewall_rules[2].id", errdefs.ErrConflict},
		{"dangling rule", func(d *Desired) { d.FirewallPolicies[0].Rules[1] = "nope" }, "firewall_policies[0].firewall_rules[1]", errdefs.ErrNotFound},
		{"rule repeated in a policy", func(d *Desired) { d.FirewallPolicies[0].Rules[1] = "r1" }, "firewall_policies[0].firewall_rules[1]", errdefs.ErrConflict},
		{"rule in two policies", func(d *Desired) { d.FirewallPolicies[1].Rules = append(d.FirewallPolicies[1].Rules, "r1") }, "firewall_policies[1].firewall_rules[1]", errdefs.ErrConflict},
		{"dangling ingress policy", func(d *Desired) { d.FirewallGroups[0].IngressPolicyID = "nope" }, "firewall_groups[0].ingress_firewall_policy_id", errdefs.ErrNotFound},
		{"dangling egress policy", func(d *Desired) { d.FirewallGroups[0].EgressPolicyID = "nope" }, "firewall_groups[0].egress_firewall_policy_id", errdefs.ErrNotFound},
		{"dangling port", func(d *Desired) { d.FirewallGroups[0].Ports = []string{"nope"} }, "firewall_groups[0].ports[0]", errdefs.ErrNotFound},
		{"port in two groups", func(d *Desired) {
			d.FirewallGroups = append(d.FirewallGroups, Group{ID: "g2", Ports: []string{"qr2", "qr1"}})
		}, "firewall_groups[1].ports[1]", errdefs.ErrConflict},
		{"port twice in a group", func(d *Desired) { d.FirewallGroups[0].Ports = []string{"qr1", "qr1"} }, "firewall_groups[0].ports[1]", errdefs.ErrConflict},
		{"dhcp port", func(d *Desired) { d.FirewallGroups[0].Ports = []string{"dhcp1"} }, "firewall_groups[0].ports[0]", errdefs.ErrInvalid},
		{"instance port without addresses", func(d *Desired) { d.FirewallGroups[0].Ports = []string{"vm1"} }, "firewall_groups[0].ports[0]", errdefs.ErrInvalid},
		{"duplicate group", func(d *Desired) { d.FirewallGroups = append(d.FirewallGroups, Group{ID: "g1"}) }, "firewall_groups[1].id", errdefs.ErrConflict},
		{"log resource type", func(d *Desired) { d.Logs = []Log{{ID: "l1", ResourceType: "network"}} }, "logs[0].resource_type", errdefs.ErrInvalid},
		{"log event", func(d *Desired) { d.Logs = []Log{{ID: "l1", ResourceType: ResourceFirewallGroup, Event: "SOME"}} }, "logs[0].event", errdefs.ErrInvalid},
		{"log dangling group", func(d *Desired) { d.Logs = []Log{{ID: "l1", ResourceType: ResourceFirewallGroup, ResourceID: "nope"}} }, "logs[0].resource_id", errdefs.ErrNotFound},
		{"log dangling port", func(d *Desired) { d.Logs = []Log{{ID: "l1", ResourceType: ResourceFirewallGroup, TargetID: "nope"}} }, "logs[0].target_id", errdefs.ErrNotFound},
		{"log port outside the group", func(d *Desired) {
			d.Logs = []Log{{ID: "l1", ResourceType: ResourceFirewallGroup, ResourceID: "g1", TargetID: "qr2"}}
		}, "logs[0].target_id", errdefs.ErrInvalid},
		{"snat logging", func(d *Desired) { d.Logs = []Log{{ID: "l1", ResourceType: "snat"}} }, "logs[0]", errors.ErrUnsupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := unitDesired()
			c.edit(&d)
			err := d.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, c.is)
			assert.Contains(t, err.Error(), c.path+":")
		})
	}
}

// Security group logs are the secgroup realizer's to check and realize:
// the firewall passes them over.
func TestSecurityGroupLogsPassOver(t *testing.T) {
	d := unitDesired()
	d.Logs = []Log{{ID: "l1", ResourceType: ResourceSecurityGroup, ResourceID: "sg-elsewhere"}}
	require.NoError(t, d.Validate())
}

func TestJSONUsesNeutronNames(t *testing.T) {
	doc := `{
	  "firewall_rules": [{"id": "r1", "protocol": "tcp", "ip_version": 4, "source_ip_address": null,
	    "destination_ip_address": "198.51.100.7", "source_port": null, "destination_port": "80:81",
	    "action": "ALLOW", "enabled": false, "shared": false, "firewall_policy_id": "p1", "position": 1}],
	  "firewall_policies": [{"id": "p1", "firewall_rules": ["r1"], "audited": true}],
	  "firewall_groups": [{"id": "g1", "ports": ["qr1"], "ingress_firewall_policy_id": "p1",
	    "egress_firewall_policy_id": null, "admin_state_up": false, "status": "ACTIVE"}],
	  "logs": [{"id": "l1", "resource_type": "firewall_group", "resource_id": "g1", "target_id": null, "event": "ALL", "enabled": true}],
	  "ports": [{"id": "qr1", "network_id": "n1", "device_owner": "network:router_interface", "device_id": "router1"}]
	}`
	var d Desired
	require.NoError(t, json.Unmarshal([]byte(doc), &d))
	require.NoError(t, d.Validate())
	r := d.FirewallRules[0]
	assert.True(t, r.SourceIPAddress.IsZero())
	assert.Equal(t, "198.51.100.7", r.DestinationIPAddress.String())
	assert.Equal(t, "allow", r.action())
	assert.False(t, r.IsEnabled())
	assert.False(t, d.FirewallGroups[0].Up())
	assert.Empty(t, d.FirewallGroups[0].EgressPolicyID)

	var bad Desired
	err := json.Unmarshal([]byte(`{"firewall_rules": [{"id": "r1", "source_ip_address": "10.0.0.300"}]}`), &bad)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "10.0.0.300")
}

func TestOptionsAreValidated(t *testing.T) {
	_, err := newConfig([]Option{WithRateLimit(10, 25)})
	assert.ErrorIs(t, err, errdefs.ErrInvalid)
	assert.Contains(t, err.Error(), "rate_limit")
	_, err = newConfig([]Option{WithRateLimit(100, 5)})
	assert.Contains(t, err.Error(), "burst_limit")
	_, err = newConfig([]Option{WithLogGroup(70000)})
	assert.Contains(t, err.Error(), "log_group")
	c, err := newConfig([]Option{WithRateLimit(200, 50), WithLogGroup(3)})
	require.NoError(t, err)
	assert.Equal(t, uint32(200), c.rate)
	assert.Equal(t, uint16(3), c.group)
}
