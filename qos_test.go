package neutrino

import (
	"errors"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/qos"
)

// QoS policies load, are validated naming the field, and must exist when a
// port or network names one.
func TestQoSPolicies(t *testing.T) {
	topo := load(t, "all-in-one.json")
	topo.QoSPolicies = []qos.Policy{{ID: "q1", BandwidthLimitRules: []qos.BandwidthLimitRule{{MaxKbps: 10000}}}}
	topo.Ports[portVM1].QoSPolicyID = "q1"
	topo.Networks[netT1].QoSPolicyID = "q1"
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	slice, err := topo.ForHost("node1")
	if err != nil || len(slice.QoSPolicies) != 1 {
		t.Fatalf("the node's slice carries the policies: %v %v", slice, err)
	}
	topo.QoSPolicies[0].BandwidthLimitRules[0] = qos.BandwidthLimitRule{MaxBurstKbps: 100}
	if err := topo.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "qos_policies[0].bandwidth_limit_rules[0].max_burst_kbps: 100 given without max_kbps") {
		t.Errorf("burst without max: %v", err)
	}
	topo.QoSPolicies[0].BandwidthLimitRules = nil
	topo.Ports[portVM1].QoSPolicyID = "nope"
	if err := topo.Validate(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "ports[5].qos_policy_id: QoS policy nope does not exist") {
		t.Errorf("missing policy: %v", err)
	}
}
