package neutrino

import (
	"errors"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/firewall"
	"github.com/neutrino-net/neutrino/secgroup"
)

// Security group logs are validated against the document and go to the
// node of their target port (or every node with a port in their group).
func TestSecurityGroupLogs(t *testing.T) {
	topo := withFirewall(t)
	vm3 := &topo.Ports[portVM3]
	sg := vm3.SecurityGroups[0]
	topo.Logs = append(topo.Logs,
		firewall.Log{ID: "sg-log-vm3", ResourceType: secgroup.ResourceSecurityGroup, ResourceID: sg, TargetID: vm3.ID, Event: "DROP"})
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	s := slice(t, topo, vm3.HostID)
	var found bool
	for _, l := range s.Logs {
		found = found || l.ID == "sg-log-vm3"
	}
	if !found {
		t.Errorf("the slice of %s lacks the log of its port: %v", vm3.HostID, s.Logs)
	}
	for _, h := range []string{"node1", "node2"} {
		if h == vm3.HostID {
			continue
		}
		for _, l := range slice(t, topo, h).Logs {
			if l.ID == "sg-log-vm3" {
				t.Errorf("%s got the log of another node's port", h)
			}
		}
	}

	for _, c := range []struct {
		log  firewall.Log
		want string
	}{
		{firewall.Log{ID: "x", ResourceType: secgroup.ResourceSecurityGroup, ResourceID: "nope"}, "logs[1].resource_id: no security group nope"},
		{firewall.Log{ID: "x", ResourceType: secgroup.ResourceSecurityGroup, TargetID: "nope"}, "logs[1].target_id: no port nope"},
		{firewall.Log{ID: "x", ResourceType: secgroup.ResourceSecurityGroup, ResourceID: "sg-elsewhere", TargetID: vm3.ID}, "logs[1].resource_id"},
		{firewall.Log{ID: "x", ResourceType: secgroup.ResourceSecurityGroup, Event: "SOME"}, "logs[1].event"},
	} {
		topo.Logs = []firewall.Log{topo.Logs[0], c.log}
		err := topo.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v: %v, want %q", c.log, err, c.want)
		}
	}
}
