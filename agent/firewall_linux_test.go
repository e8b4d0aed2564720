package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/firewall"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/port"
)

// TestFirewallOnARealRouter runs FWaaS through the node: a group on the
// router interface of tenant2 (10.0.2.0/24) blocks ICMP from vm3 through
// the real router to upstream (SNATed: tenant2 is in no address scope,
// and the router drops what crosses scopes), beside its NAT table, and
// goes away cleanly.
func TestFirewallOnARealRouter(t *testing.T) {
	f := newFixture(t)
	lab.RequireCmd(t, "ping", "nft")
	f.apply(t)
	f.ping(t, f.vms["vm3"], "203.0.113.254")

	var qr *port.Port
	for i := range f.topo.Ports {
		p := &f.topo.Ports[i]
		if p.DeviceOwner == port.OwnerRouterInterface && len(p.FixedIPs) > 0 && strings.HasPrefix(p.FixedIPs[0].IPAddress.String(), "10.0.2.") {
			qr = p
		}
	}
	if qr == nil {
		t.Fatal("no router interface on 10.0.2.0/24 in all-in-one")
	}
	f.topo.FirewallRules = []firewall.Rule{{ID: "deny-icmp", Protocol: "icmp", Action: "deny"}, {ID: "ssh", Protocol: "tcp", DestinationPort: "22", Action: "allow"}}
	f.topo.FirewallPolicies = []firewall.Policy{{ID: "in", Rules: []string{"deny-icmp", "ssh"}}}
	f.topo.FirewallGroups = []firewall.Group{{ID: "fwg", Ports: []string{qr.ID}, IngressPolicyID: "in", EgressPolicyID: "in"}}
	rep := f.apply(t)
	if got := rep.Steps[4]; got.Realizer != "firewall" || got.Mutations() == 0 {
		t.Fatalf("firewall step: %s %d mutations", got.Realizer, got.Mutations())
	}
	if rep := f.apply(t); rep.Mutations() != 0 {
		t.Errorf("second apply made %d mutations:\n%s", rep.Mutations(), rep)
	}
	if out, err := f.l.Run(f.vms["vm3"], 10*time.Second, "ping", "-c1", "-W1", "203.0.113.254"); err == nil {
		t.Errorf("ping across the firewalled interface passed:\n%s", out)
	}
	f.ping(t, f.up, "203.0.113.50") // the floating IP, not behind the group

	rns, err := f.l.Manager().Open("node1-" + naming.RouterNamespace(qr.DeviceID))
	if err != nil {
		t.Fatal(err)
	}
	defer rns.Close()
	tables := f.l.MustOutput(rns, "nft", "list", "tables")
	for _, want := range []string{"table inet neutrino-router", "table inet neutrino-fw"} {
		if !strings.Contains(tables, want) {
			t.Errorf("router namespace tables lack %q:\n%s", want, tables)
		}
	}

	f.topo.FirewallGroups, f.topo.FirewallPolicies, f.topo.FirewallRules = nil, nil, nil
	f.apply(t)
	f.ping(t, f.vms["vm3"], "203.0.113.254")
	if tables := f.l.MustOutput(rns, "nft", "list", "tables"); strings.Contains(tables, "neutrino-fw") {
		t.Errorf("the firewall table stayed:\n%s", tables)
	}
}
