package secgroup

import (
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/port"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func logDesired() Desired {
	in := Rule{ID: "r-ssh", Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortRangeMin: uintp(22), PortRangeMax: uintp(22)}
	return Desired{
		Groups: []SecurityGroup{{ID: "g1", Rules: []Rule{in}}, {ID: "g2"}},
		Ports: []port.Port{
			unitPort("p1-00000000", "n1", "fa:16:3e:00:00:01", []string{"g1"}, "100.64.0.1"),
			unitPort("p2-00000000", "n1", "fa:16:3e:00:00:02", []string{"g1", "g2"}, "100.64.0.2"),
		},
	}
}

// Logging off (no log, a disabled one, or another resource type's) adds
// no rule and no set.
func TestLoggingOffAddsNothing(t *testing.T) {
	plain, _ := mustCompile(t, logDesired(), numbers{})
	off := false
	for _, logs := range [][]Log{
		{{ID: "l", ResourceType: ResourceSecurityGroup, Enabled: &off}},
		{{ID: "l", ResourceType: "firewall_group"}},
	} {
		d := logDesired()
		d.Logs = logs
		rs, _ := mustCompile(t, d, numbers{})
		assert.Equal(t, plain.inet.String(), rs.inet.String())
		assert.Nil(t, rs.logs)
	}
}

// A log adds, for its ports, a log rule before each accept of the logged
// groups and before the default drops, and sets of the ports' marks.
func TestLogRules(t *testing.T) {
	d := logDesired()
	d.Logs = []Log{
		{ID: "l-acc", ResourceType: ResourceSecurityGroup, ResourceID: "g1", Event: "ACCEPT"},
		{ID: "l-p2", ResourceType: ResourceSecurityGroup, TargetID: "p2-00000000", Event: "DROP"},
	}
	rs, nums := mustCompile(t, d, numbers{}, WithRateLimit(200, 30))
	g1 := chainText(t, rs.inet, groupChain("g1", Ingress))
	require.Len(t, g1, 2)
	assert.Contains(t, g1[0], "meta mark & 0xffff0000 @log-accept-g1 limit rate 200/second burst 30 packets log prefix")
	assert.Contains(t, g1[0], "tcp dport 22")
	assert.True(t, strings.HasSuffix(g1[1], "accept comment \"sg g1 rule r-ssh\""), g1[1])
	assert.Len(t, rs.inet.setx[logAcceptSet("g1")].elems, 2)
	assert.Nil(t, rs.inet.setx[logAcceptSet("g2")])
	assert.Len(t, rs.inet.setx[setLogDrop].elems, 1)
	for _, ch := range []string{chainEgress, chainIngress} {
		rules := chainText(t, rs.inet, ch)
		assert.Contains(t, rules[len(rules)-2], "@log-drop limit rate 200/second")
		assert.Contains(t, rules[len(rules)-1], "drop")
	}

	// Records map back through the prefix and the mark.
	n2 := nums.ports["tap"+"p2-00000000"[:11]]
	cfg, _ := newConfig(nil)
	var px string
	for p, s := range rs.logs.sources {
		if s.verdict == EventDrop && s.dir == Egress {
			px = p
		}
	}
	ipv4 := []byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 100, 64, 0, 2, 100, 64, 0, 1, 0xc3, 0x50, 0, 80}
	r, ok := rs.logs.record(rs.ports, cfg, px, cfg.markOf(n2), ipv4, time.Time{})
	require.True(t, ok)
	assert.Equal(t, []string{"l-p2"}, r.LogIDs)
	assert.Equal(t, "p2-00000000", r.PortID)
	assert.Equal(t, "default", r.RuleID)
	assert.Equal(t, uint16(80), r.DstPort)
	_, ok = rs.logs.record(rs.ports, cfg, px, cfg.markOf(nums.ports["tap"+"p1-00000000"[:11]]), ipv4, time.Time{})
	assert.False(t, ok, "p1's drops are not logged")
}

func TestValidateLogs(t *testing.T) {
	d := logDesired()
	d.Logs = []Log{{ID: "l", ResourceType: ResourceSecurityGroup, ResourceID: "g2", TargetID: "p1-00000000"}}
	err := d.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "logs[0].target_id: port p1-00000000 is not in security group g2")
	d.Logs = []Log{{ID: "l", ResourceType: ResourceSecurityGroup, ResourceID: "nope"}}
	assert.ErrorContains(t, d.Validate(), "logs[0].resource_id")
}
