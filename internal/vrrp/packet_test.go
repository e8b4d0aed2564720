package vrrp

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

var (
	srcA = netip.MustParseAddr("169.254.192.1")
	srcB = netip.MustParseAddr("169.254.192.2")
)

func TestMarshalParseRoundTrip(t *testing.T) {
	p := Packet{VRID: 7, Priority: 50, Interval: 200, Addrs: []netip.Addr{netip.MustParseAddr("169.254.0.7"), netip.MustParseAddr("203.0.113.9")}}
	b, err := p.Marshal(srcA, Group)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0x31 || b[1] != 7 || b[2] != 50 || b[3] != 2 || b[4] != 0 || b[5] != 200 {
		t.Fatalf("header % x", b[:8])
	}
	got, err := Parse(b, srcA, Group)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("got %+v, want %+v", got, p)
	}
	// The checksum covers the pseudo-header: another source fails it.
	if _, err := Parse(b, srcB, Group); !errors.Is(err, ErrChecksum) {
		t.Fatalf("other source: %v, want ErrChecksum", err)
	}
}

// A pinned vector (VRID 51, priority 100, 1 s, one address 192.0.2.100,
// from 192.0.2.1 to 224.0.0.18) whose checksum was computed independently of
// this package; the keepalived interop test checks real keepalived packets.
func TestMarshalVector(t *testing.T) {
	want := Packet{VRID: 51, Priority: 100, Interval: 100, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}
	b, err := want.Marshal(netip.MustParseAddr("192.0.2.1"), Group)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, []byte{0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x05, 0x72, 0xc0, 0x00, 0x02, 0x64}) {
		t.Fatalf("bytes % x", b)
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := Packet{VRID: 1, Priority: 1, Interval: 1}.Marshal(srcA, Group)
	v2 := bytes.Clone(good)
	v2[0] = 0x21
	short := []byte{0x31, 1, 1, 3, 0, 1, 0, 0}
	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"empty":       {nil, ErrShort},
		"v2":          {v2, ErrVersion},
		"count short": {short, ErrShort},
	} {
		if _, err := Parse(c.b, srcA, Group); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestCentiseconds(t *testing.T) {
	for d, want := range map[time.Duration]uint16{100 * time.Millisecond: 10, 2 * time.Second: 200, 40950 * time.Millisecond: 4095} {
		got, err := Centiseconds(d)
		if err != nil || got != want || Duration(got) != d {
			t.Errorf("%s: %d %v", d, got, err)
		}
	}
	for _, d := range []time.Duration{0, 5 * time.Millisecond, 41 * time.Second, -time.Second} {
		if _, err := Centiseconds(d); err == nil {
			t.Errorf("%s accepted", d)
		}
	}
}

func FuzzParse(f *testing.F) {
	good, _ := Packet{VRID: 9, Priority: 255, Interval: 10, Addrs: []netip.Addr{srcB}}.Marshal(srcA, Group)
	f.Add(good)
	f.Add([]byte{0x31})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b, srcA, Group)
		if err != nil {
			return
		}
		// What parses re-encodes to the same bytes (less reserved bits and
		// trailing data).
		out, err := p.Marshal(srcA, Group)
		if p.Interval == 0 {
			if err == nil {
				t.Fatal("interval 0 marshalled")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out, srcA, Group); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func TestIPv6RoundTrip(t *testing.T) {
	src := netip.MustParseAddr("fe80::1")
	p := Packet{VRID: 9, Priority: 100, Interval: 10, Addrs: []netip.Addr{netip.MustParseAddr("fe80::9"), netip.MustParseAddr("2001:db8::9")}}
	b, err := p.Marshal(src, Group6)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 8+32 {
		t.Fatalf("%d bytes", len(b))
	}
	got, err := Parse(b, src, Group6)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("%+v, %v", got, err)
	}
	if _, err := Parse(b, netip.MustParseAddr("fe80::2"), Group6); !errors.Is(err, ErrChecksum) {
		t.Fatalf("other source: %v", err)
	}
	if _, err := p.Marshal(srcA, Group); err == nil {
		t.Fatal("IPv6 addresses in an IPv4 advertisement")
	}
	if _, err := p.Marshal(src, Group); err == nil {
		t.Fatal("mixed pseudo-header")
	}
}
