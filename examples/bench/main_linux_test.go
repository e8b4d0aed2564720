package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/lab"
)

func TestMain(m *testing.M) {
	// The bench runs Neutrino in a child: this test binary, re-executed.
	if len(os.Args) == 4 && os.Args[1] == childMode {
		if err := runChild(os.Args[2], os.Args[3], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "bench agent:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	lab.Main(m)
}

// TestBenchTinyEndToEnd runs the whole bench at a tiny size: the
// reference run, Neutrino and both baselines once each, every result
// compared with the reference object by object (a difference fails run).
func TestBenchTinyEndToEnd(t *testing.T) {
	l := lab.New(t)
	lab.RequireCmd(t, "ip", "nft", "sysctl", "bridge", "dnsmasq", "kill")
	w, err := newWorld(l.Prefix() + "b-")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, w.cleanup()) })
	var log strings.Builder
	cfg := config{size: Size{Routers: 2, Ports: 6, Networks: 3, Rules: 10, Groups: 2, Members: 40, FIPs: 40},
		reps: 1, log: &log, realizerReps: 1}
	res, err := run(w, cfg)
	require.NoError(t, err, log.String())

	// Four comparisons per side (bring-up, port, teardown, scale variant).
	require.Len(t, res.Checks, 12, "%s", strings.Join(res.Checks, "\n"))
	for _, id := range []string{"bringup", "port", "teardown", "member", "fip"} {
		s := res.scenario(id)
		require.NotNil(t, s.Neutrino, id)
		require.NotNil(t, s.BaseA, id)
		require.NotNil(t, s.BaseB, id)
		require.Positive(t, s.BaseA.Procs, id)
	}
	require.Equal(t, []int{0}, res.scenario("noop").Neutrino.Mutations, "a no-op Apply changes nothing")
	require.Greater(t, res.scenario("bringup").BaseA.Procs, res.scenario("bringup").BaseB.Procs)
	require.NotEmpty(t, res.Goals)
	var out strings.Builder
	res.print(&out)
	require.Contains(t, out.String(), "goals (ARCHITECTURE.md section 8)")
	require.Empty(t, w.leftovers())
}

func TestGenerateValidatesAtDefaultSize(t *testing.T) {
	tops, err := generate(fullSize)
	require.NoError(t, err)
	require.Len(t, tops.Base.Routers, 100)
	require.Len(t, tops.BasePlusPort.Ports, len(tops.Base.Ports)+1)
	require.Len(t, tops.ScalePlusFIP.FloatingIPs, len(tops.Scale.FloatingIPs)+1)
	members := 0
	for _, p := range tops.ScalePlusMember.Ports {
		if slices.Contains(p.SecurityGroups, farGroup) {
			members++
		}
	}
	require.Equal(t, fullSize.Members+1, members)
}

func TestParseRulesetSplitsObjects(t *testing.T) {
	text := `table inet t {
	comment "x"
	set s {
		type ipv4_addr
		flags interval
		elements = { 10.0.0.0/24, 10.1.0.1-10.1.0.9,
			     192.0.2.1 }
	}

	map m {
		type ifname : verdict
		elements = { "a" comment "p, q" : goto c, "b" : jump c }
	}

	chain c {
		type filter hook forward priority 0; policy accept;
		iifname @s accept
		ip saddr { 1.1.1.1, 2.2.2.2 } drop
	}
}
`
	ts := parseRuleset(text)
	require.Len(t, ts, 1)
	tb := ts[0]
	require.Equal(t, []string{`comment "x"`}, tb.Props)
	require.Equal(t, []string{"10.0.0.0/24", "10.1.0.1-10.1.0.9", "192.0.2.1"}, tb.Sets[0].Elements)
	require.Equal(t, []string{`"a" comment "p, q" : goto c`, `"b" : jump c`}, tb.Sets[1].Elements)
	require.Equal(t, `"a"`, elementKey(tb.Sets[1].Elements[0]))
	require.Len(t, tb.Chains[0].Rules, 2)
	require.Equal(t, []string{"type filter hook forward priority 0; policy accept;"}, tb.Chains[0].Props)

	// A new table is planned object by object, chains before the maps
	// whose elements jump to them.
	p := diffStates(&state{NS: map[string]*nsState{"node": {Links: map[string]*linkState{}}}},
		&state{NS: map[string]*nsState{"node": {Links: map[string]*linkState{}, Tables: ts}}}, nil, perOp)
	var cmds []string
	for _, o := range p {
		cmds = append(cmds, o.Args)
	}
	require.Equal(t, []string{
		`add table inet t { comment "x"; }`,
		"add chain inet t c { type filter hook forward priority 0; policy accept; }",
		"add set inet t s { type ipv4_addr; flags interval; }",
		"add map inet t m { type ifname : verdict; }",
		"add element inet t s { 10.0.0.0/24 }", "add element inet t s { 10.1.0.1-10.1.0.9 }", "add element inet t s { 192.0.2.1 }",
		`add element inet t m { "a" comment "p, q" : goto c }`, `add element inet t m { "b" : jump c }`,
		"add rule inet t c iifname @s accept", "add rule inet t c ip saddr { 1.1.1.1, 2.2.2.2 } drop",
	}, cmds)
}
