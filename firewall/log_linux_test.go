package firewall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the NFLOG reader's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// waitRecords waits until n records arrived (or 3 s passed), then a
// little longer so that an unexpected extra record shows, and returns them.
func (w *world) waitRecords(n int) []FlowRecord {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		got := len(w.records)
		w.mu.Unlock()
		if got >= n {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return w.flowRecords()
}

// line renders what a test compares of a record.
func line(r FlowRecord) string {
	return fmt.Sprintf("%s %s %s %s proto=%d %s:%d -> %s:%d logs=%v", r.Verdict, r.Direction, r.RuleID, r.FirewallGroupID,
		r.Protocol, r.Src, r.SrcPort, r.Dst, r.DstPort, r.LogIDs)
}

func lines(rs []FlowRecord) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		s := line(r)
		// Client ports are ephemeral.
		if i := strings.Index(s, ":"); i >= 0 {
			j := strings.Index(s[i:], " ")
			s = s[:i] + ":*" + s[i+j:]
		}
		out = append(out, s)
	}
	return out
}

// script makes the connections the logging tests log: three on vm1's
// ingress (two accepted, two dropped) and one dropped on its egress.
func (w *world) script(t *testing.T) {
	t.Helper()
	require.Equal(t, ok, w.check(w.vm2, "udp", vm1v4, 5353, ok))
	require.Equal(t, timeout, w.probe(w.vm2, "udp", vm1v4, 5355))
	require.Equal(t, ok, w.check(w.vm2, "tcp", vm1v4, 80, ok))
	require.Equal(t, timeout, w.probe(w.vm2, "tcp", vm1v4, 8080))
	require.Equal(t, timeout, w.probe(w.vm1, "tcp", vm2v4, 81))
}

func TestFlowLogging(t *testing.T) {
	w := newWorld(t)
	var out syncBuffer
	r := w.realizer(WithFlowLog(slog.New(slog.NewJSONHandler(&out, nil))))
	d := matrixDesired(w)
	d.Logs = []Log{{ID: "log-all", ResourceType: ResourceFirewallGroup, ResourceID: "g1"}}
	w.apply(r, d)

	w.script(t)
	want := []string{
		"ACCEPT ingress in-udp5353 g1 proto=17 100.64.2.10:* -> 100.64.1.10:5353 logs=[log-all]",
		"DROP ingress default g1 proto=17 100.64.2.10:* -> 100.64.1.10:5355 logs=[log-all]",
		"ACCEPT ingress in-tcp80 g1 proto=6 100.64.2.10:* -> 100.64.1.10:80 logs=[log-all]",
		"DROP ingress in-8080-deny-vm2 g1 proto=6 100.64.2.10:* -> 100.64.1.10:8080 logs=[log-all]",
		"DROP egress default g1 proto=6 100.64.1.10:* -> 100.64.2.10:81 logs=[log-all]",
	}
	got := w.waitRecords(len(want))
	// A probe that must pass is retried when a loaded machine is slow, and
	// each try is a packet of its own and a record: compare distinct lines.
	assert.Equal(t, want, slices.Compact(lines(got)))
	for _, r := range got {
		assert.Equal(t, w.p1.ID, r.PortID)
		assert.Equal(t, w.routerID, r.Router)
	}
	// One JSON line per record, with Neutron's fields.
	ls := out.lines()
	require.Len(t, ls, len(got))
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(ls[0]), &rec))
	for _, k := range []string{"time", "log_ids", "port_id", "firewall_group_id", "rule_id", "action", "src", "dst", "protocol", "dst_port"} {
		assert.Contains(t, rec, k)
	}
	st := r.FlowStats()
	assert.Equal(t, FlowStats{Accepted: st.Accepted, Dropped: 3}, st)
	assert.GreaterOrEqual(t, st.Accepted, uint64(2))
	assert.Equal(t, uint64(len(got)), st.Accepted+st.Dropped)

	// event DROP: the same script logs only the drops.
	d.Logs[0].Event = "DROP"
	w.apply(r, d)
	w.script(t)
	got = w.waitRecords(3)
	assert.Equal(t, []string{want[1], want[3], want[4]}, lines(got))

	// A log on one target port of a group logs that port only (g2's port
	// here: ext → vm2 on the gateway).
	d.Logs = []Log{{ID: "log-gw", ResourceType: ResourceFirewallGroup, TargetID: w.pg.ID, Event: "ACCEPT"}}
	w.apply(r, d)
	w.script(t)
	require.Equal(t, ok, w.check(w.ext, "tcp", vm2v4, 80, ok))
	got = w.waitRecords(1)
	assert.Equal(t, []string{"ACCEPT egress gw-tcp80 g2 proto=6 198.18.0.10:* -> 100.64.2.10:80 logs=[log-gw]"}, slices.Compact(lines(got)))

	// The rate limit caps a flood of dropped packets.
	d.Logs = []Log{{ID: "log-drop", ResourceType: ResourceFirewallGroup, ResourceID: "g1", Event: "DROP"}}
	w.apply(r, d)
	const flood = 400
	start := time.Now()
	require.NoError(t, w.vm2.Do(func() error {
		c, err := net.Dial("udp", vm1v4+":5355")
		if err != nil {
			return err
		}
		defer c.Close()
		for range flood {
			if _, err := c.Write([]byte("x")); err != nil {
				return err
			}
		}
		return nil
	}))
	elapsed := time.Since(start)
	got = w.waitRecords(flood)
	max := DefaultBurstLimit + int(elapsed.Seconds()*DefaultRateLimit) + 2
	t.Logf("flood of %d packets in %v: %d records (burst %d, rate %d/s)", flood, elapsed, len(got), DefaultBurstLimit, DefaultRateLimit)
	assert.GreaterOrEqual(t, len(got), DefaultBurstLimit, "the burst is logged")
	assert.LessOrEqual(t, len(got), max, "the rate limit caps the flood")

	// Logging off adds no rule.
	d.Logs = nil
	w.apply(r, d)
	tbl := w.nft("list", "table", "inet", TableName)
	assert.NotContains(t, tbl, "log ")
	assert.NotContains(t, tbl, "limit")
	w.script(t)
	assert.Empty(t, w.waitRecords(1))
}
