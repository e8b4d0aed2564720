package secgroup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/port"
)

// flowSink collects records and JSON lines for tests.
type flowSink struct {
	mu      sync.Mutex
	records []FlowRecord
	json    bytes.Buffer
}

func (s *flowSink) add(r FlowRecord) {
	s.mu.Lock()
	s.records = append(s.records, r)
	s.mu.Unlock()
}

func (s *flowSink) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.json.Write(b)
}

func (s *flowSink) snapshot() ([]FlowRecord, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FlowRecord(nil), s.records...), s.json.String()
}

func (s *flowSink) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records, s.json = nil, bytes.Buffer{}
}

// settle waits until at least n records arrived (or 3 s passed), then a
// little more so that a surplus record would show, and returns them.
func (s *flowSink) settle(n int) []FlowRecord {
	for range 300 {
		if rs, _ := s.snapshot(); len(rs) >= n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	rs, _ := s.snapshot()
	return rs
}

func flowLine(r FlowRecord) string {
	return fmt.Sprintf("%s %s %s sg=%s rule=%s logs=%s proto=%d %s:%d>%s:%d", r.Verdict, r.Direction, r.PortID, r.SecurityGroupID, r.RuleID,
		strings.Join(r.LogIDs, ","), r.Protocol, r.Src, r.SrcPort, r.Dst, r.DstPort)
}

func flowLines(rs []FlowRecord, ignoreSrcPort bool) []string {
	var out []string
	for _, r := range rs {
		if ignoreSrcPort && r.Protocol == 6 && r.DstPort != 0 {
			r.SrcPort = 0
		}
		out = append(out, flowLine(r))
	}
	sort.Strings(out)
	return out
}

// logWorld is three IPv4-only instances (IPv6 off, so that no MLD or
// neighbour discovery traffic from interface bring-up reaches a logged
// port): b accepts ssh from anywhere and sends nothing; a and c send
// anything and accept nothing.
func logWorld(t *testing.T, opts ...Option) (*world, *flowSink, map[string]port.Port, Desired) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and nftables tables")
	}
	sink := &flowSink{}
	w := newWorld(t, append([]Option{WithFlowSink(sink.add), WithFlowLog(slog.New(slog.NewJSONHandler(sink, nil)))}, opts...)...)
	ps := map[string]port.Port{
		"a": mkPort("aaaaaaaa-0000-4000-8000-00000000000a", "net1", "fa:16:3e:00:01:01", []string{"ga"}, ipA.String()),
		"b": mkPort("bbbbbbbb-0000-4000-8000-00000000000b", "net1", "fa:16:3e:00:01:02", []string{"gb"}, ipB.String()),
		"c": mkPort("cccccccc-0000-4000-8000-00000000000c", "net1", "fa:16:3e:00:01:03", []string{"gc"}, ipC.String()),
	}
	for _, k := range []string{"a", "b", "c"} {
		vm := w.plug(ps[k], cidrs(ps[k])...)
		require.NoError(t, vm.Sysctl("net/ipv6/conf/eth0/disable_ipv6", "1"))
	}
	d := Desired{Groups: []SecurityGroup{
		group("ga", true, anyOut()...),
		group("gb", true, ports("tcp", 22, 22)),
		group("gc", true, anyOut()...),
	}, Ports: []port.Port{ps["a"], ps["b"], ps["c"]}}
	w.apply(d)
	// Resolve the neighbours before logging starts: a probe abandoned
	// while ARP is pending would send its SYN (and log it) later.
	require.True(t, tcpReaches(t, w.vms[ps["a"].ID], w.vms[ps["b"].ID], ipB, 22))
	require.True(t, tcpReaches(t, w.vms[ps["c"].ID], w.vms[ps["b"].ID], ipB, 22))
	return w, sink, ps, d
}

// TestFlowLogLines: for a scripted set of allowed and denied connections
// the log holds exactly the expected records and JSON lines; turning
// logging off removes every log rule and set, and a second Apply changes
// nothing.
func TestFlowLogLines(t *testing.T) {
	w, sink, ps, d := logWorld(t)
	a, b, c := ps["a"], ps["b"], ps["c"]
	vmA, vmB, vmC := w.vms[a.ID], w.vms[b.ID], w.vms[c.ID]
	plain := w.nft("list", "table", "inet", "neutrino")

	d.Logs = []Log{
		{ID: "log-b", ResourceType: ResourceSecurityGroup, TargetID: b.ID},
		{ID: "log-gb-accept", ResourceType: ResourceSecurityGroup, ResourceID: "gb", Event: "ACCEPT"},
		{ID: "log-fw", ResourceType: "firewall_group"}, // not ours: passed over
	}
	w.apply(d)
	assert.Zero(t, w.apply(d).Mutations(), "second Apply")

	assert.True(t, tcpReaches(t, vmA, vmB, ipB, 22), "a -> b:22 allowed")
	assert.False(t, tcpProbe(t, vmA, vmB, ipB, 23), "a -> b:23 denied")
	assert.False(t, tcpProbe(t, vmB, vmA, ipA, 80), "b -> a:80 denied (b sends nothing)")
	assert.False(t, tcpProbe(t, vmA, vmC, ipC, 22), "a -> c:22 denied, c not logged")
	assert.True(t, tcpReaches(t, vmC, vmB, ipB, 22), "c -> b:22 allowed")

	got := sink.settle(4)
	want := flowLines([]FlowRecord{
		{Verdict: "ACCEPT", Direction: Ingress, PortID: b.ID, SecurityGroupID: "gb", RuleID: "gb-r0", LogIDs: []string{"log-b", "log-gb-accept"},
			Protocol: 6, Src: ipA, Dst: ipB, DstPort: 22},
		{Verdict: "DROP", Direction: Ingress, PortID: b.ID, RuleID: "default", LogIDs: []string{"log-b"}, Protocol: 6, Src: ipA, Dst: ipB, DstPort: 23},
		{Verdict: "DROP", Direction: Egress, PortID: b.ID, RuleID: "default", LogIDs: []string{"log-b"}, Protocol: 6, Src: ipB, Dst: ipA, DstPort: 80},
		{Verdict: "ACCEPT", Direction: Ingress, PortID: b.ID, SecurityGroupID: "gb", RuleID: "gb-r0", LogIDs: []string{"log-b", "log-gb-accept"},
			Protocol: 6, Src: ipC, Dst: ipB, DstPort: 22},
	}, false)
	// Under load a probe may time out and retry, or a SYN be sent again:
	// each is a new packet and a new record. Compare distinct flows, and
	// count every record.
	assert.Equal(t, want, slices.Compact(flowLines(got, true)))
	st := w.r.FlowStats()
	assert.GreaterOrEqual(t, st.Accepted, uint64(2), "%+v", st)
	assert.GreaterOrEqual(t, st.Dropped, uint64(2), "%+v", st)
	assert.Equal(t, FlowStats{Accepted: st.Accepted, Dropped: st.Dropped}, st)
	assert.Equal(t, uint64(len(got)), st.Accepted+st.Dropped)

	_, js := sink.snapshot()
	lines := strings.Split(strings.TrimSpace(js), "\n")
	require.Len(t, lines, len(got))
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	for _, k := range []string{"time", "event_time", "log_ids", "port_id", "security_group_id", "rule_id", "direction", "action",
		"protocol", "src", "dst", "src_port", "dst_port"} {
		assert.Contains(t, first, k)
	}
	assert.Equal(t, "security group flow", first["msg"])

	// One more logged port is one element: O(change).
	d2 := d
	d2.Logs = append(append([]Log(nil), d.Logs...), Log{ID: "log-c", ResourceType: ResourceSecurityGroup, TargetID: c.ID, Event: "DROP"})
	rep, err := w.r.Plan(t.Context(), d2)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Mutations(), "logging one more port's drops: %s", rep)

	// Disabled logs are no logs: the tables are as before logging.
	off := false
	for i := range d.Logs {
		d.Logs[i].Enabled = &off
	}
	rep = w.apply(d)
	assert.Zero(t, rep.Deleted["conntrack"], "log rules take no permission away: no flow is cut (%s)", rep)
	assert.Equal(t, plain, w.nft("list", "table", "inet", "neutrino"))
	assert.NotContains(t, w.nft("list", "ruleset"), "log ")
	sink.reset()
	assert.False(t, tcpProbe(t, vmA, vmB, ipB, 23))
	assert.Empty(t, sink.settle(0), "records with logging off")
}

// TestFlowLogRateLimit: a flood of denied packets at a logged port is
// logged at most at rate_limit per second after a burst of burst_limit.
func TestFlowLogRateLimit(t *testing.T) {
	w, sink, ps, d := logWorld(t, WithRateLimit(100, 25))
	b := ps["b"]
	d.Logs = []Log{{ID: "log-b", ResourceType: ResourceSecurityGroup, TargetID: b.ID, Event: "DROP"}}
	w.apply(d)

	const flood = 3000
	start := time.Now()
	require.NoError(t, w.vms[ps["a"].ID].Do(func() error {
		conn, err := net.Dial("udp", netip.AddrPortFrom(ipB, 9999).String())
		if err != nil {
			return err
		}
		defer conn.Close()
		for range flood {
			_, _ = conn.Write([]byte("flood"))
		}
		return nil
	}))
	got := sink.settle(25)
	elapsed := time.Since(start)
	// The limit lets the burst through, then rate per second: over the
	// flood and the settling time at most burst + rate*elapsed (+ one
	// second's rate for the token bucket's rounding).
	bound := 25 + int(100*elapsed.Seconds()) + 100
	t.Logf("%d of %d flood packets logged in %s (bound %d)", len(got), flood, elapsed, bound)
	assert.GreaterOrEqual(t, len(got), 25, "the burst is logged")
	assert.LessOrEqual(t, len(got), bound)
	assert.Less(t, len(got), flood/2)
	for _, r := range got {
		assert.Equal(t, "DROP", r.Verdict)
		assert.Equal(t, uint16(9999), r.DstPort)
	}
}
