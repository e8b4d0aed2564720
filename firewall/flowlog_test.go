package firewall

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParsePacket(t *testing.T) {
	v4 := []byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 100, 64, 2, 10, 100, 64, 1, 10, 0xc3, 0x50, 0, 80}
	var r FlowRecord
	assert.True(t, parsePacket(v4, &r))
	assert.Equal(t, FlowRecord{Protocol: 6, Src: netip.MustParseAddr("100.64.2.10"), Dst: netip.MustParseAddr("100.64.1.10"), SrcPort: 50000, DstPort: 80}, r)

	v6 := make([]byte, 48)
	v6[0], v6[6] = 0x60, 17
	copy(v6[8:], netip.MustParseAddr("2001:db8:2::10").AsSlice())
	copy(v6[24:], netip.MustParseAddr("2001:db8:1::10").AsSlice())
	copy(v6[40:], []byte{0x14, 0xe9, 0x14, 0xe9})
	r = FlowRecord{}
	assert.True(t, parsePacket(v6, &r))
	assert.Equal(t, uint16(5353), r.DstPort)
	assert.Equal(t, "2001:db8:2::10", r.Src.String())

	icmp := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, 8, 0, 0, 0}
	r = FlowRecord{}
	assert.True(t, parsePacket(icmp, &r))
	assert.Zero(t, r.DstPort, "ICMP has no ports")

	assert.False(t, parsePacket(nil, &r))
	assert.False(t, parsePacket([]byte{0x45, 0}, &r))
}
