package nflog

import (
	"encoding/binary"
	"testing"

	"github.com/mdlayher/netlink"
)

func TestDecode(t *testing.T) {
	ts := binary.BigEndian.AppendUint64(nil, 1700000000)
	ts = binary.BigEndian.AppendUint64(ts, 250000)
	b, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: attrPrefix, Data: []byte("0123456789abcdef\x00")},
		{Type: attrTimestamp, Data: ts},
		{Type: attrPayload, Data: []byte{0x45, 0, 0, 20}},
		{Type: attrMark, Data: []byte{0, 3, 0, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, ok := decode(b)
	if !ok || p.Prefix != "0123456789abcdef" || len(p.Payload) != 4 || p.Time.Unix() != 1700000000 || p.Time.Nanosecond() != 250000000 || p.Mark != 0x30000 {
		t.Errorf("decode: %v %+v", ok, p)
	}
	if _, ok := decode([]byte{1, 2}); ok {
		t.Error("a truncated message decodes")
	}
}
