package neutrino

import (
	"errors"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/firewall"
)

// withFirewall adds a firewall group on the router's interface ports of
// threeNodes, with a policy, rules and a log.
func withFirewall(t *testing.T) *Topology {
	topo := threeNodes(t)
	var ports []string
	for _, p := range topo.Ports {
		if p.DeviceOwner == "network:router_interface" {
			ports = append(ports, p.ID)
		}
	}
	if len(ports) == 0 {
		t.Fatal("no router interface in all-in-one")
	}
	topo.FirewallRules = []firewall.Rule{{ID: "fw-r1", Protocol: "tcp", DestinationPort: "22", Action: "allow"}, {ID: "fw-unused"}}
	topo.FirewallPolicies = []firewall.Policy{{ID: "fw-p1", Rules: []string{"fw-r1"}}, {ID: "fw-p-unused", Rules: []string{"fw-unused"}}}
	topo.FirewallGroups = []firewall.Group{{ID: "fw-g1", Ports: ports, IngressPolicyID: "fw-p1"}}
	topo.Logs = []firewall.Log{{ID: "log1", ResourceType: "firewall_group", ResourceID: "fw-g1"}}
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestValidateFirewallPaths(t *testing.T) {
	topo := withFirewall(t)
	topo.FirewallGroups[0].Ports = append(topo.FirewallGroups[0].Ports, "nope")
	topo.FirewallPolicies[0].Rules = append(topo.FirewallPolicies[0].Rules, "gone")
	topo.FirewallRules[0].DestinationPort = "30:20"
	err := topo.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"firewall_groups[0].ports[" /* the added one */, "firewall_policies[0].firewall_rules[1]: no firewall rule gone",
		"firewall_rules[0].destination_port: port range \"30:20\" runs backwards",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrInvalid) {
		t.Errorf("sentinels: %v", err)
	}
	// One level deep, like every other Validate error.
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 {
		t.Errorf("%d errors, want 3: %v", n, err)
	}
}

func TestForHostFirewall(t *testing.T) {
	topo := withFirewall(t)
	s := slice(t, topo, "node1")
	if len(s.FirewallGroups) != 1 || len(s.FirewallPolicies) != 1 || len(s.FirewallRules) != 1 || len(s.Logs) != 1 {
		t.Errorf("router host: %d groups, %d policies, %d rules, %d logs", len(s.FirewallGroups), len(s.FirewallPolicies), len(s.FirewallRules), len(s.Logs))
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	for _, host := range []string{"node2", "node3"} {
		s := slice(t, topo, host)
		if len(s.FirewallGroups)+len(s.FirewallPolicies)+len(s.FirewallRules)+len(s.Logs) != 0 {
			t.Errorf("%s realizes no router: %d groups", host, len(s.FirewallGroups))
		}
	}
}

func TestForHostFirewallInstancePort(t *testing.T) {
	topo := withFirewall(t)
	vm3 := topo.Ports[portVM3].ID
	topo.FirewallGroups = append(topo.FirewallGroups, firewall.Group{ID: "fw-vm", Ports: []string{vm3}, EgressPolicyID: "fw-p-unused"})
	topo.Logs = append(topo.Logs, firewall.Log{ID: "log-vm", ResourceType: "firewall_group", TargetID: vm3})
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	s := slice(t, topo, "node2")
	if len(s.FirewallGroups) != 1 || s.FirewallGroups[0].ID != "fw-vm" || len(s.FirewallRules) != 1 || len(s.Logs) != 1 {
		t.Errorf("compute host: groups %v, rules %d, logs %d", s.FirewallGroups, len(s.FirewallRules), len(s.Logs))
	}
	// A compute host's slice holds context whose references dangle (the
	// router's ports); what the firewall realizer gets must not.
	d := firewall.Desired{FirewallGroups: s.FirewallGroups, FirewallPolicies: s.FirewallPolicies,
		FirewallRules: s.FirewallRules, Logs: s.Logs, Ports: s.Ports}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
	n1 := slice(t, topo, "node1")
	for _, g := range n1.FirewallGroups {
		if g.ID == "fw-vm" {
			t.Errorf("node1 got the group of node2's instance port")
		}
	}
}
