package agent

import (
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/firewall"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/secgroup"
)

// A security group log in the topology reaches the node's secgroup
// realizer: the instance's accepted flow is recorded, to the configured
// sink and in Node.FlowStats.
func TestSecurityGroupLogOnANode(t *testing.T) {
	var mu sync.Mutex
	var got []secgroup.FlowRecord
	f := newFixture(t, func(c *Config) {
		c.SecGroupOptions = []secgroup.Option{secgroup.WithFlowSink(func(r secgroup.FlowRecord) {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
		})}
	})
	lab.RequireCmd(t, "ping")
	f.apply(t)
	f.ping(t, f.vms["vm3"], "203.0.113.254") // neighbours resolved before logging

	var vm3 string
	for i := range f.topo.Ports {
		if p := &f.topo.Ports[i]; p.Profile.NetNS == f.l.Manager().Path("vm3") {
			vm3 = p.ID
		}
	}
	if vm3 == "" {
		t.Fatal("no port of vm3 in all-in-one")
	}
	f.topo.Logs = []firewall.Log{{ID: "log-vm3", ResourceType: secgroup.ResourceSecurityGroup, TargetID: vm3, Event: "ACCEPT"}}
	f.apply(t)
	if rep := f.apply(t); rep.Mutations() != 0 {
		t.Errorf("second apply made %d mutations:\n%s", rep.Mutations(), rep)
	}
	f.ping(t, f.vms["vm3"], "203.0.113.254")

	var st firewall.FlowStats
	for range 300 {
		if st = f.node.FlowStats()["secgroup"]; st.Accepted > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Accepted != 1 || st.Dropped != 0 {
		t.Errorf("secgroup flow stats %+v, want one accepted flow (the ping)", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].PortID != vm3 || got[0].Direction != secgroup.Egress || got[0].Verdict != secgroup.EventAccept ||
		got[0].Protocol != 1 || got[0].Dst.String() != "203.0.113.254" || len(got[0].LogIDs) != 1 {
		t.Errorf("records %+v", got)
	}
}
