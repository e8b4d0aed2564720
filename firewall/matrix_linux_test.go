package firewall

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

// matrixDesired protects vm1's router interface with group g1 (both
// directions) and the gateway with group g2 (egress only: its ingress side
// has no policy, so only replies leave the router to the external host).
func matrixDesired(w *world) Desired {
	r := func(id, proto string, v int, src, dst, dport, action string) Rule {
		x := Rule{ID: id, Protocol: proto, IPVersion: v, DestinationPort: dport, Action: action}
		if src != "" {
			x.SourceIPAddress = MustParseAddress(src)
		}
		if dst != "" {
			x.DestinationIPAddress = MustParseAddress(dst)
		}
		return x
	}
	rules := []Rule{
		// g1 ingress (towards vm1)
		r("in-reject-ext", "", 4, extv4, "", "", "reject"),
		r("in-tcp80", "tcp", 4, "", "", "80", "allow"),
		r("in-tcp81-reject", "tcp", 4, "", "", "81", "REJECT"),
		r("in-8080-deny-vm2", "tcp", 4, "100.64.2.0/24", "", "8080", "deny"),
		r("in-8080", "tcp", 4, "", vm1v4, "8080", "allow"),
		r("in-udp5353", "udp", 4, "", "", "5353", "allow"),
		r("in-udp5354-reject", "udp", 4, "", "", "5354", "reject"),
		r("in-icmp", "icmp", 4, "", "", "", "allow"),
		r("in-tcp80-v6", "tcp", 6, "", "", "80", "allow"),
		r("in-icmp-v6", "icmp", 6, "", "", "", "allow"),
		r("in-9090-disabled", "tcp", 4, "", "", "9090", "allow"),
		r("in-range", "tcp", 4, "", "", "7000:7010", "allow"),
		// g1 egress (from vm1)
		r("eg-tcp80", "tcp", 4, "", "", "80", "allow"),
		r("eg-tcp80-v6", "tcp", 6, "", "", "80", "allow"),
		r("eg-icmp", "icmp", 4, "", "", "", "allow"),
		r("eg-udp5353", "udp", 4, vm1v4, "", "5353", "allow"),
		// g2 egress (from the external network)
		r("gw-tcp80", "tcp", 4, "", "", "80", "allow"),
		r("gw-icmp", "icmp", 4, "", "", "", "allow"),
		r("gw-tcp80-v6", "tcp", 6, "", "", "80", "allow"),
		r("gw-icmp-v6", "ipv6-icmp", 6, "", "", "", "allow"),
	}
	rules[10].Enabled = &disabled
	ids := func(prefix string) []string {
		var out []string
		for _, x := range rules {
			if strings.HasPrefix(x.ID, prefix) {
				out = append(out, x.ID)
			}
		}
		return out
	}
	return Desired{
		FirewallRules: rules,
		FirewallPolicies: []Policy{
			{ID: "pol-in", Rules: ids("in-")},
			{ID: "pol-eg", Rules: ids("eg-")},
			{ID: "pol-gw", Rules: ids("gw-")},
		},
		FirewallGroups: []Group{
			{ID: "g1", Ports: []string{w.p1.ID}, IngressPolicyID: "pol-in", EgressPolicyID: "pol-eg"},
			{ID: "g2", Ports: []string{w.pg.ID}, EgressPolicyID: "pol-gw"},
		},
		Ports: []port.Port{w.p1, w.p2, w.pg},
	}
}

type probeCase struct {
	name        string
	from        string
	proto, addr string
	port        int
	want        string
}

func runCases(t *testing.T, w *world, cases []probeCase) {
	t.Helper()
	for _, c := range cases {
		src := w.vm1
		switch c.from {
		case "vm2":
			src = w.vm2
		case "ext":
			src = w.ext
		}
		got := w.check(src, c.proto, c.addr, c.port, c.want)
		assert.Equal(t, c.want, got, "%s: %s %s → %s:%d", c.name, c.from, c.proto, c.addr, c.port)
	}
}

// TestPacketMatrix proves FWaaS rules with real packets through a router
// namespace: protocols, ranges, v4/v6, both directions, reject vs deny,
// rule order, a disabled rule, a group side without policy, statefulness.
func TestPacketMatrix(t *testing.T) {
	w := newWorld(t)
	// A foreign table in the router namespace: never touched.
	w.l.MustRun(w.rns, "nft", "add table inet foreign; add chain inet foreign c { type filter hook forward priority 10; }; add rule inet foreign c counter")
	foreign := w.nft("-s", "list", "table", "inet", "foreign")

	// Before any firewall everything passes.
	require.Equal(t, ok, w.check(w.vm2, "tcp", vm1v4, 9090, ok))

	r := w.realizer()
	d := matrixDesired(w)
	rep := w.apply(r, d)
	require.Positive(t, rep.Mutations())
	t.Log(rep.String())

	cases := []probeCase{
		// vm2 → vm1: g1 ingress (vm2's port has no group)
		{"allow tcp", "vm2", "tcp", vm1v4, 80, ok},
		{"reject tcp answers RST", "vm2", "tcp", vm1v4, 81, refused},
		{"deny by source before a later allow (rule order)", "vm2", "tcp", vm1v4, 8080, timeout},
		{"disabled rule ignored", "vm2", "tcp", vm1v4, 9090, timeout},
		{"port range inside", "vm2", "tcp", vm1v4, 7005, ok},
		{"port range outside", "vm2", "tcp", vm1v4, 7011, timeout},
		{"allow udp", "vm2", "udp", vm1v4, 5353, ok},
		{"reject udp answers ICMP unreachable", "vm2", "udp", vm1v4, 5354, refused},
		{"udp default deny", "vm2", "udp", vm1v4, 5355, timeout},
		{"allow icmp", "vm2", "icmp", vm1v4, 0, ok},
		{"allow tcp v6", "vm2", "tcp", vm1v6, 80, ok},
		{"v4-only reject does not apply to v6", "vm2", "tcp", vm1v6, 81, timeout},
		{"v6 range rule absent", "vm2", "tcp", vm1v6, 7005, timeout},
		{"allow icmp v6 (icmp with ip_version 6)", "vm2", "icmp", vm1v6, 0, ok},
		// vm1 → vm2: g1 egress, replies through g1 ingress are established
		{"egress allow tcp", "vm1", "tcp", vm2v4, 80, ok},
		{"egress default deny tcp", "vm1", "tcp", vm2v4, 81, timeout},
		{"egress allow udp by source", "vm1", "udp", vm2v4, 5353, ok},
		{"egress udp other port", "vm1", "udp", vm2v4, 5354, timeout},
		{"egress allow icmp", "vm1", "icmp", vm2v4, 0, ok},
		{"egress allow tcp v6", "vm1", "tcp", vm2v6, 80, ok},
		{"egress no icmp v6 rule", "vm1", "icmp", vm2v6, 0, timeout},
		// ext → inside: g2 egress on the gateway port
		{"gateway egress allow tcp", "ext", "tcp", vm2v4, 80, ok},
		{"gateway egress default deny", "ext", "tcp", vm2v4, 8080, timeout},
		{"gateway egress udp denied", "ext", "udp", vm2v4, 5353, timeout},
		{"gateway egress allow icmp", "ext", "icmp", vm2v4, 0, ok},
		{"gateway egress allow tcp v6", "ext", "tcp", vm2v6, 80, ok},
		{"gateway egress deny tcp v6", "ext", "tcp", vm2v6, 8080, timeout},
		{"gateway egress allow icmp v6", "ext", "icmp", vm2v6, 0, ok},
		{"any-protocol reject first in order: TCP RST", "ext", "tcp", vm1v4, 80, refused},
		{"any-protocol reject: ICMP answers unreachable, ping fails", "ext", "icmp", vm1v4, 0, timeout},
		// inside → ext: g2 ingress has no policy: only replies leave
		{"group side without policy drops new flows", "vm2", "tcp", extv4, 80, timeout},
		{"egress allowed by g1 but not by g2", "vm1", "tcp", extv4, 80, timeout},
		{"group side without policy, v6", "vm2", "tcp", extv6, 80, timeout},
		// ports outside any group are not filtered
		{"unprotected ports pass", "vm2", "tcp", vm2v4, 9090, ok},
	}
	runCases(t, w, cases)

	// The real nft tool reads what we programmed.
	out := w.nft("list", "table", "inet", TableName)
	for _, want := range []string{
		"hook forward priority filter; policy accept;",
		`oifname "` + deviceOf(&w.p1) + `" jump ingress-g1`,
		`iifname "` + deviceOf(&w.pg) + `" jump egress-g2`,
		"ct state invalid drop", "ct state established,related return",
		"reject with tcp reset", "tcp dport 7000-7010 return",
		`ip saddr 100.64.2.0/24 tcp dport 8080 drop comment "rule in-8080-deny-vm2"`,
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "9090", "the disabled rule is not programmed")

	// Idempotent.
	rep = w.apply(r, d)
	assert.Zero(t, rep.Mutations(), rep.String())
	// Plan of the same state changes nothing either.
	rep, err := r.Plan(context.Background(), d)
	require.NoError(t, err)
	assert.Zero(t, rep.Mutations())

	// Changes by hand are noticed (the ruleset generation moved) and
	// repaired: a flushed chain is refilled, a deleted table recreated.
	w.l.MustRun(w.rns, "nft", "flush", "chain", "inet", TableName, "ingress-g1")
	rep = w.apply(r, d)
	assert.Equal(t, map[string]int{"rule": len(d.FirewallPolicies[0].Rules) + 3 - 1 /* disabled */ + 1 /* reject any: two rules */},
		rep.Created, rep.String())
	w.l.MustRun(w.rns, "nft", "delete", "table", "inet", TableName)
	rep = w.apply(r, d)
	assert.Equal(t, 1, rep.Created["table"], rep.String())
	assert.Equal(t, out, w.nft("list", "table", "inet", TableName))
	assert.Equal(t, timeout, w.probe(w.vm2, "tcp", vm1v4, 9090))

	// Bad input applies nothing and names the field.
	bad := matrixDesired(w)
	bad.FirewallRules[1].DestinationPort = "90:80"
	rep, err = r.Apply(context.Background(), bad)
	require.Error(t, err)
	require.NotNil(t, rep)
	assert.True(t, errors.Is(err, errdefs.ErrInvalid))
	assert.Contains(t, err.Error(), "firewall_rules[1].destination_port")
	assert.Equal(t, out, w.nft("list", "table", "inet", TableName))

	// A plan of a change reports it and changes nothing.
	changed := matrixDesired(w)
	changed.FirewallPolicies[0].Rules = changed.FirewallPolicies[0].Rules[1:]
	rep, err = r.Plan(context.Background(), changed)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"rule": 2}, rep.Deleted, "the any-protocol reject is two rules")
	assert.Equal(t, out, w.nft("list", "table", "inet", TableName))
	assert.Equal(t, refused, w.probe(w.ext, "tcp", vm1v4, 80))

	// admin_state_up=false drops everything on the group's ports; up again
	// restores the policy.
	down := matrixDesired(w)
	f := false
	down.FirewallGroups[0].AdminStateUp = &f
	w.apply(r, down)
	assert.Equal(t, timeout, w.probe(w.vm2, "tcp", vm1v4, 80), "group down drops")
	assert.Equal(t, timeout, w.probe(w.vm1, "tcp", vm2v4, 80), "group down drops egress")
	w.apply(r, d)
	assert.Equal(t, ok, w.check(w.vm2, "tcp", vm1v4, 80, ok))

	// Tearing down removes our table and leaves the foreign one.
	rep = w.apply(r, Desired{})
	assert.Equal(t, 1, rep.Deleted["table"], rep.String())
	assert.NotContains(t, w.nft("list", "tables"), TableName)
	assert.Equal(t, foreign, w.nft("-s", "list", "table", "inet", "foreign"))
	assert.Equal(t, ok, w.check(w.vm2, "tcp", vm1v4, 9090, ok))
}

// TestRuleRemovalCutsEstablishedFlow: removing the rule that allowed a
// connection ends it (its conntrack entry is deleted), as Neutron does.
func TestRuleRemovalCutsEstablishedFlow(t *testing.T) {
	w := newWorld(t)
	r := w.realizer()
	d := matrixDesired(w)
	w.apply(r, d)

	var c net.Conn
	require.NoError(t, w.vm2.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", vm1v4+":80", 3*time.Second)
		return err
	}))
	defer c.Close()
	echo := func(wait time.Duration) error {
		_ = c.SetDeadline(time.Now().Add(wait))
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		_, err := c.Read(make([]byte, 4))
		return err
	}
	require.NoError(t, echo(3*time.Second), "the flow is up")

	// Another rule's change leaves the flow alone.
	other := matrixDesired(w)
	other.FirewallRules[5].DestinationPort = "5360" // in-udp5353
	rep := w.apply(r, other)
	t.Log(rep.String())
	require.NoError(t, echo(3*time.Second), "an unrelated rule change keeps the flow")

	// Remove in-tcp80 from the ingress policy.
	cut := matrixDesired(w)
	cut.FirewallRules[5].DestinationPort = "5360"
	cut.FirewallPolicies[0].Rules = removeID(cut.FirewallPolicies[0].Rules, "in-tcp80")
	rep = w.apply(r, cut)
	t.Log(rep.String())
	assert.Positive(t, rep.Deleted["conntrack"], "the flow's entry is deleted")
	assert.Equal(t, 1, rep.Deleted["rule"], "one rule removed: O(change)")
	assert.Zero(t, rep.Created["rule"])
	assert.Error(t, echo(probeTimeout), "the established flow is cut")
}

func removeID(ids []string, id string) []string {
	var out []string
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// TestRestartConverges: a new realizer (a restarted agent) takes over the
// tables an earlier one wrote without a change, and still removes them.
func TestRestartConverges(t *testing.T) {
	w := newWorld(t)
	d := matrixDesired(w)
	w.apply(w.realizer(), d)

	again := w.realizer()
	rep := w.apply(again, d)
	assert.Zero(t, rep.Mutations(), rep.String())

	// A router it never wrote to, left with our table: found by the first
	// pass's sweep of the node's router namespaces.
	third := w.realizer()
	rep = w.apply(third, Desired{})
	assert.Equal(t, 1, rep.Deleted["table"], rep.String())
	assert.NotContains(t, w.nft("list", "tables"), TableName)
}
