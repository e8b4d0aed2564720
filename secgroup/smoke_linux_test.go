package secgroup

import (
	"github.com/neutrino-net/neutrino/port"
	"net/netip"
	"testing"
)

func TestSmoke(t *testing.T) {
	w := newWorld(t)
	a := mkPort("aaaaaaaa-0000-4000-8000-000000000001", "net1", "fa:16:3e:00:00:01", []string{"g1"}, "100.64.1.10", "2001:db8:1::10")
	b := mkPort("bbbbbbbb-0000-4000-8000-000000000002", "net1", "fa:16:3e:00:00:02", []string{"g1"}, "100.64.1.20", "2001:db8:1::20")
	c := mkPort("cccccccc-0000-4000-8000-000000000003", "net1", "fa:16:3e:00:00:03", []string{"g2"}, "100.64.1.30", "2001:db8:1::30")
	va, vb, vc := w.plug(a, cidrs(a)...), w.plug(b, cidrs(b)...), w.plug(c, cidrs(c)...)
	g2 := DefaultGroup("g2")
	g2.Rules = g2.Rules[:2]
	d := Desired{Groups: []SecurityGroup{DefaultGroup("g1"), g2}, Ports: []port.Port{a, b, c}}
	rep := w.apply(d)
	t.Logf("first apply: %s", rep)
	t.Log(w.nft("list", "ruleset"))
	if !tcpProbe(t, va, vb, netip.MustParseAddr("100.64.1.20"), 80) {
		t.Error("A->B tcp dropped")
	}
	if !tcpProbe(t, va, vb, netip.MustParseAddr("2001:db8:1::20"), 80) {
		t.Error("A->B tcp6 dropped")
	}
	if tcpProbe(t, vc, vb, netip.MustParseAddr("100.64.1.20"), 80) {
		t.Error("C->B tcp delivered")
	}
	rep = w.apply(d)
	if rep.Mutations() != 0 {
		t.Errorf("second apply: %s\n%v", rep, rep.Changes)
	}
}
