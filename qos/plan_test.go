package qos

import (
	"errors"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
)

func TestPolicyValidationNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{ID: "q", BandwidthLimitRules: []BandwidthLimitRule{{MaxBurstKbps: 100}}}, "bandwidth_limit_rules[0].max_burst_kbps: 100 given without max_kbps"},
		{Policy{ID: "q", BandwidthLimitRules: []BandwidthLimitRule{{Direction: "up", MaxKbps: 1}}}, "bandwidth_limit_rules[0].direction"},
		{Policy{ID: "q", BandwidthLimitRules: []BandwidthLimitRule{{MaxKbps: 1}, {Direction: Egress, MaxKbps: 2}}}, "bandwidth_limit_rules[1].direction: egress repeats"},
		{Policy{ID: "q", DSCPMarkingRules: []DSCPMarkingRule{{DSCPMark: 7}}}, "dscp_marking_rules[0].dscp_mark: 7"},
		{Policy{ID: "q", MinimumBandwidthRules: []MinimumBandwidthRule{{MinKbps: 0}}}, "minimum_bandwidth_rules[0].min_kbps"},
		{Policy{}, "id: required"},
	} {
		err := tc.p.Validate()
		if !errors.Is(err, errdefs.ErrInvalid) && !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func doc() Desired {
	return Desired{
		Policies: []Policy{
			{ID: "limit", BandwidthLimitRules: []BandwidthLimitRule{{MaxKbps: 8000}, {Direction: Ingress, MaxKbps: 16000, MaxBurstKbps: 800}},
				MinimumBandwidthRules: []MinimumBandwidthRule{{MinKbps: 1000}}},
			{ID: "mark", DSCPMarkingRules: []DSCPMarkingRule{{DSCPMark: 26}}},
		},
		Networks: []network.Network{{ID: "n1", QoSPolicyID: "mark"}},
		Ports: []port.Port{
			{ID: "p1aaaaaaaaaa", NetworkID: "n1", DeviceOwner: "compute:nova", QoSPolicyID: "limit"},
			{ID: "p2aaaaaaaaaa", NetworkID: "n1", DeviceOwner: "compute:nova"},
			{ID: "p3aaaaaaaaaa", NetworkID: "n1", DeviceOwner: port.OwnerDHCP}, // the network's own: no policy
		},
	}
}

func lines(cs []change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Line())
	}
	return out
}

// The plan of an empty node, exactly: the port's own policy wins over its
// network's, the network's applies to instance ports only.
func TestPlanFromNothing(t *testing.T) {
	d := doc()
	w, err := d.validate()
	if err != nil {
		t.Fatal(err)
	}
	o := &observed{links: map[string]int{"tapp1aaaaaaaaa": 1, "tapp2aaaaaaaaa": 2}, qdiscs: map[string]rootQdisc{
		"tapp1aaaaaaaaa": {Absent: true}, "tapp2aaaaaaaaa": {Absent: true}}}
	cs, err := plan(w, o, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"create qdisc tbf on tapp1aaaaaaaaa rate 2000000 B/s burst 100000 B",
		"create table bridge neutrino-qos",
		"create rule dscp tapp2aaaaaaaaa ip 26",
		"create rule dscp tapp2aaaaaaaaa ip6 26",
		"create rule police tapp1aaaaaaaaa 1000000 B/s burst 800000 B",
	}
	if got := lines(cs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if u := d.Unenforced(); len(u) != 1 || !strings.Contains(u[0], "port p1aaaaaaaaaa: QoS policy limit guarantees egress 1000 kbps") {
		t.Errorf("unenforced: %v", u)
	}
}

// A changed rate replaces the port's rule and qdisc only; a foreign root
// qdisc is left alone and reported; a removed policy leaves nothing.
func TestPlanUpdatesAndRemovals(t *testing.T) {
	d := doc()
	w, _ := d.validate()
	have := map[string]uint64{}
	for c := range w.rules() {
		have[c] = uint64(len(have) + 1)
	}
	shaped := shapeOf(w.ports["tapp1aaaaaaaaa"].Shape)
	o := &observed{links: map[string]int{"tapp1aaaaaaaaa": 1, "tapp2aaaaaaaaa": 2}, table: true, rules: have,
		qdiscs: map[string]rootQdisc{"tapp1aaaaaaaaa": {Kind: "tbf", Major: qdiscHandle, Rate: shaped.Rate, Burst: shaped.Burst + 3, Limit: shaped.Limit},
			"tapp2aaaaaaaaa": {Kind: "htb", Major: 1}}}
	cs, err := plan(w, o, false)
	if err != nil || len(cs) != 0 {
		t.Fatalf("converged: %v %v", lines(cs), err)
	}
	d.Policies[0].BandwidthLimitRules[0].MaxKbps = 4000
	d.Ports[1].QoSPolicyID = "limit" // p2 gets a shaper, but its root qdisc is foreign
	w, _ = d.validate()
	cs, err = plan(w, o, false)
	if !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "tapp2aaaaaaaaa has a root htb qdisc that is not ours") {
		t.Errorf("foreign qdisc: %v", err)
	}
	want := []string{
		"delete rule dscp tapp2aaaaaaaaa ip 26",
		"delete rule dscp tapp2aaaaaaaaa ip6 26",
		"delete rule police tapp1aaaaaaaaa 1000000 B/s burst 800000 B",
		"create rule police tapp1aaaaaaaaa 500000 B/s burst 400000 B",
		"create rule police tapp2aaaaaaaaa 500000 B/s burst 400000 B",
	}
	if got := lines(cs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	d.Ports[0].QoSPolicyID, d.Ports[1].QoSPolicyID, d.Networks[0].QoSPolicyID = "", "", ""
	w, _ = d.validate()
	cs, _ = plan(w, o, false)
	if got := lines(cs); strings.Join(got, "\n") != "delete qdisc tbf on tapp1aaaaaaaaa\ndelete table bridge neutrino-qos" {
		t.Errorf("removal: %v", got)
	}
}

func TestMissingPolicyNamesTheField(t *testing.T) {
	d := doc()
	d.Networks[0].QoSPolicyID = "nope"
	if _, err := d.validate(); !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "networks[0].qos_policy_id: QoS policy nope") {
		t.Errorf("got %v", err)
	}
}
