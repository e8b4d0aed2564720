package flowlog

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	v4 := []byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 100, 64, 2, 10, 100, 64, 1, 10, 0xc3, 0x50, 0, 80}
	r, ok := Parse(v4)
	assert.True(t, ok)
	assert.Equal(t, Tuple{Protocol: 6, Src: netip.MustParseAddr("100.64.2.10"), Dst: netip.MustParseAddr("100.64.1.10"), SrcPort: 50000, DstPort: 80}, r)
	_, ok = Parse([]byte{0x45, 0})
	assert.False(t, ok)
}

func TestLogCovers(t *testing.T) {
	l := Log{ID: "l", ResourceType: ResourceSecurityGroup, Event: "drop"}
	assert.NoError(t, l.Validate())
	assert.True(t, l.Covers(false))
	assert.False(t, l.Covers(true))
	l.Event = ""
	assert.True(t, l.Covers(true))
	assert.Error(t, (&Log{ID: "x", ResourceType: "port"}).Validate())
}

func TestCheckLimits(t *testing.T) {
	assert.NoError(t, CheckLimits(100, 25))
	assert.ErrorContains(t, CheckLimits(10, 25), "rate_limit")
	assert.Error(t, CheckGroup(70000))
}

func TestCounters(t *testing.T) {
	var c Counters
	c.Count(EventAccept)
	c.Count(EventDrop)
	c.Count(EventDrop)
	c.Unknown()
	assert.Equal(t, Stats{Accepted: 1, Dropped: 2, Unknown: 1}, c.Stats())
}
