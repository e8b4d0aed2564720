package secgroup

import "testing"

func TestDefaultGroupIsNeutrons(t *testing.T) {
	g := DefaultGroup("sg1")
	if g.ID != "sg1" || g.Name != "default" || !g.IsStateful() || len(g.Rules) != 4 {
		t.Fatalf("%+v", g)
	}
	want := map[string]string{ // direction/ethertype → remote group
		"egress/IPv4": "", "egress/IPv6": "", "ingress/IPv4": "sg1", "ingress/IPv6": "sg1",
	}
	for _, r := range g.Rules {
		k := r.Direction + "/" + r.Ethertype
		remote, ok := want[k]
		if !ok || r.RemoteGroupID != remote || !r.Protocol.IsAny() || r.PortRangeMin != nil || r.RemoteIPPrefix.IsValid() || r.SecurityGroupID != "sg1" {
			t.Errorf("unexpected rule %+v", r)
		}
		delete(want, k)
	}
	if len(want) != 0 {
		t.Errorf("missing rules %v", want)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultsFillsRuleGroupIDs(t *testing.T) {
	g := SecurityGroup{ID: "g", Rules: []Rule{{ID: "a"}, {ID: "b", SecurityGroupID: "g"}}}
	Defaults(&g)
	for _, r := range g.Rules {
		if r.SecurityGroupID != "g" {
			t.Errorf("%+v", r)
		}
	}
}
