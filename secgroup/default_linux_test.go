package secgroup

import (
	"github.com/neutrino-net/neutrino/port"
	"net/netip"
	"strings"
	"testing"
)

// TestDefaultGroupIsEnforcedAndListedReadably: members of the default group
// reach each other, others do not, and nft lists it all with comments.
func TestDefaultGroupIsEnforcedAndListedReadably(t *testing.T) {
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
	// The nft tool reads what we programmed, with comments naming groups,
	// rules and ports.
	listing := w.nft("list", "table", "inet", TableName) + w.nft("list", "table", "bridge", TableName)
	for _, want := range []string{`comment "sg g1 rule g1-ingress-ipv4"`, `ip saddr @rg-g1-v4 accept`,
		`comment "port ` + a.ID + `"`, `jump sg-g1-ingress`, `ct zone set`, `goto antispoof`} {
		if !strings.Contains(listing, want) {
			t.Errorf("nft list lacks %s", want)
		}
	}
	t.Log(listing)
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
