package firewall

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/port"
)

func compileUnit(t *testing.T, d Desired, opts ...Option) *ruleset {
	t.Helper()
	x, err := d.index()
	require.NoError(t, err)
	cfg, err := newConfig(opts)
	require.NoError(t, err)
	return compile(&d, x, cfg)
}

func TestCompileRendersNeutronSemantics(t *testing.T) {
	d := unitDesired()
	d.FirewallRules = append(d.FirewallRules, Rule{ID: "r4", Enabled: &disabled, Action: "allow"})
	d.FirewallPolicies[1].Rules = append(d.FirewallPolicies[1].Rules, "r4")
	d.FirewallRules[2].Action = "reject"
	rs := compileUnit(t, d)
	require.Len(t, rs.tables, 1)
	assert.Equal(t, `table inet neutrino-fw {
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname "qr-qr1" jump egress-g1 comment "port qr1"
		oifname "qr-qr1" jump ingress-g1 comment "port qr1"
	}
	chain ingress-g1 {
		ct state invalid drop
		ct state established,related return
		meta nfproto ipv4 meta l4proto tcp th dport 22 return comment "rule r1"
		meta nfproto ipv6 meta l4proto udp ip6 saddr 2001:db8::/32 th dport 1000-2000 reject with icmpx port-unreachable comment "rule r2"
		drop comment "default deny"
	}
	chain egress-g1 {
		ct state invalid drop
		ct state established,related return
		meta nfproto ipv4 meta l4proto tcp reject with tcp reset comment "rule r3"
		meta nfproto ipv4 reject with icmpx port-unreachable comment "rule r3"
		drop comment "default deny"
	}
}
`, rs.tables["router1"].String())
}

func TestCompileRuleShapes(t *testing.T) {
	for _, c := range []struct {
		rule Rule
		want []string
	}{
		{Rule{ID: "a", Protocol: "icmp", IPVersion: 6, Action: "allow"}, []string{"meta nfproto ipv6 meta l4proto ipv6-icmp return"}},
		{Rule{ID: "a", Protocol: "any", Action: "deny", DestinationIPAddress: MustParseAddress("0.0.0.0/0")}, []string{"meta nfproto ipv4 drop"}},
		{Rule{ID: "a", Protocol: "tcp", SourcePort: "1:65535", DestinationIPAddress: MustParseAddress("203.0.113.9"), Action: "deny"},
			[]string{"meta nfproto ipv4 meta l4proto tcp ip daddr 203.0.113.9 th sport 1-65535 drop"}},
		{Rule{ID: "a", Protocol: "udp", Action: "reject"}, []string{"meta nfproto ipv4 meta l4proto udp reject with icmpx port-unreachable"}},
		{Rule{ID: "a", Protocol: "sctp", DestinationPort: "9", Action: "reject"}, []string{"meta nfproto ipv4 meta l4proto sctp th dport 9 reject with icmpx port-unreachable"}},
	} {
		d := unitDesired()
		d.FirewallRules[2] = c.rule
		d.FirewallRules[2].ID = "r3"
		rs := compileUnit(t, d)
		ch := rs.tables["router1"].chain("egress-g1")
		var got []string
		for _, r := range ch.rules[2 : len(ch.rules)-1] {
			r.comment = ""
			got = append(got, r.String())
		}
		assert.Equal(t, c.want, got, "%+v", c.rule)
	}
}

func TestCompileGroupDownDropsEverything(t *testing.T) {
	d := unitDesired()
	f := false
	d.FirewallGroups[0].AdminStateUp = &f
	rs := compileUnit(t, d)
	tb := rs.tables["router1"]
	require.Len(t, tb.chains, 1, "no group chains for a group that is down")
	assert.Equal(t, []string{
		`iifname "qr-qr1" drop comment "firewall group g1 is down"`,
		`oifname "qr-qr1" drop comment "firewall group g1 is down"`,
	}, renderRules(tb.chains[0]))
}

func TestCompileLogs(t *testing.T) {
	d := unitDesired()
	d.FirewallGroups[0].Ports = append(d.FirewallGroups[0].Ports, "gw1")
	d.Logs = []Log{
		{ID: "l-accept", ResourceType: ResourceFirewallGroup, ResourceID: "g1", TargetID: "qr1", Event: "accept"},
		{ID: "l-all", ResourceType: ResourceFirewallGroup},
		{ID: "l-off", ResourceType: ResourceFirewallGroup, Enabled: &disabled},
	}
	rs := compileUnit(t, d, WithLogGroup(5), WithRateLimit(150, 30))
	tb := rs.tables["router1"]
	assert.Equal(t, []limit{
		{"log-qg-gw1-accept", 150, 30}, {"log-qg-gw1-drop", 150, 30},
		{"log-qr-qr1-accept", 150, 30}, {"log-qr-qr1-drop", 150, 30},
	}, tb.limits)
	in := renderRules(tb.chain("ingress-g1"))
	px := flowlog.Prefix("router1", "qr1", DirIngress, "r1", EventAccept)
	assert.Contains(t, in, `oifname "qr-qr1" meta nfproto ipv4 meta l4proto tcp th dport 22 limit name "log-qr-qr1-accept" log prefix "`+px+`" group 5`)
	assert.Equal(t, &logSource{LogIDs: []string{"l-accept", "l-all"}, PortID: "qr1", GroupID: "g1", RuleID: "r1",
		Direction: DirIngress, Verdict: EventAccept}, tb.prefixes[px])
	gwDrop := flowlog.Prefix("router1", "gw1", DirIngress, "default", EventDrop)
	assert.Equal(t, []string{"l-all"}, tb.prefixes[gwDrop].LogIDs, "a project-wide log covers every group's ports")
	// The log rules sit right before the verdict they record (ports in
	// device name order: qg-gw1's, then qr-qr1's).
	assert.Equal(t, `meta nfproto ipv4 meta l4proto tcp th dport 22 return comment "rule r1"`, in[indexOf(in, px)+1])

	d.Logs = nil
	rs = compileUnit(t, d)
	assert.Empty(t, rs.tables["router1"].limits)
	assert.Empty(t, rs.tables["router1"].prefixes)
}

func renderRules(c *chain) []string {
	var out []string
	for _, r := range c.rules {
		out = append(out, r.String())
	}
	return out
}

func indexOf(rules []string, sub string) int {
	for i, r := range rules {
		if strings.Contains(r, sub) {
			return i
		}
	}
	return -1
}

// bigDesired is one group with n rules on one router port.
func bigDesired(n int) Desired {
	d := Desired{Ports: []port.Port{{ID: "qr1", DeviceOwner: port.OwnerRouterInterface, DeviceID: "router1"}}}
	pol := Policy{ID: "p"}
	for i := range n {
		id := fmt.Sprintf("rule-%04d", i)
		d.FirewallRules = append(d.FirewallRules, Rule{ID: id, Protocol: "tcp", DestinationPort: fmt.Sprint(1000 + i), Action: "allow"})
		pol.Rules = append(pol.Rules, id)
	}
	d.FirewallPolicies = []Policy{pol}
	d.FirewallGroups = []Group{{ID: "g", Ports: []string{"qr1"}, IngressPolicyID: "p"}}
	return d
}

func TestCompileInstancePort(t *testing.T) {
	d := unitDesired()
	d.Ports[3].FixedIPs = []port.FixedIP{{IPAddress: netip.MustParseAddr("192.0.2.5")}}
	d.Ports[3].AllowedAddressPairs = []port.AddressPair{{IPAddress: netip.MustParsePrefix("2001:db8::/64")}}
	d.FirewallGroups = append(d.FirewallGroups, Group{ID: "g2", Ports: []string{"vm1"}, IngressPolicyID: "p2"})
	rs := compileUnit(t, d)
	require.Len(t, rs.tables, 2, "a router table and the host table")
	host := rs.tables[hostTable]
	assert.Equal(t, []string{
		`oifname "brqn1" meta nfproto ipv4 ip daddr 192.0.2.5 jump egress-g2 comment "port vm1"`,
		`oifname "brqn1" meta nfproto ipv6 ip6 daddr 2001:db8::/64 jump egress-g2 comment "port vm1"`,
		`iifname "brqn1" meta nfproto ipv4 ip saddr 192.0.2.5 jump ingress-g2 comment "port vm1"`,
		`iifname "brqn1" meta nfproto ipv6 ip6 saddr 2001:db8::/64 jump ingress-g2 comment "port vm1"`,
	}, renderRules(host.chain(chainForward)))
	eg := renderRules(host.chain("egress-g2"))
	assert.Contains(t, eg, `meta nfproto ipv6 meta l4proto ipv6-icmp icmpv6 type 133-137 return comment "neighbour discovery"`)
	assert.Contains(t, eg, `meta nfproto ipv4 meta l4proto udp th sport 67 th dport 68 return comment "DHCP"`)

	// A newly protected instance port cuts the flows of its addresses,
	// not the whole host's.
	p := diffTable(hostTable, nil, host, knownRules{})
	assert.False(t, p.cutAll)
	assert.Len(t, p.cut, 4)
}
