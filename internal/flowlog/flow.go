package flowlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/netip"
	"sync/atomic"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Defaults of network logging, Neutron's [network_log] rate_limit and
// burst_limit, which are also their minimums.
const (
	DefaultRateLimit  = 100
	DefaultBurstLimit = 25
)

// CheckLimits checks a rate_limit and burst_limit against Neutron's
// minimums.
func CheckLimits(rate, burst int) error {
	var errs []error
	if rate < DefaultRateLimit {
		errs = append(errs, errdefs.Invalid("rate_limit", "%d is below Neutron's minimum of %d", rate, DefaultRateLimit))
	}
	if burst < DefaultBurstLimit {
		errs = append(errs, errdefs.Invalid("burst_limit", "%d is below Neutron's minimum of %d", burst, DefaultBurstLimit))
	}
	return errors.Join(errs...)
}

// CheckGroup checks an NFLOG group number.
func CheckGroup(g int) error {
	if g < 0 || g > 0xffff {
		return errdefs.Invalid("log_group", "%d is not an NFLOG group (0-65535)", g)
	}
	return nil
}

// Prefix is the NFLOG prefix of what its parts name (a port, direction,
// rule and verdict): 16 hex digits, stable across restarts (Neutron draws
// a random 64-bit number; a hash needs no memory to map records back after
// a restart).
func Prefix(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// Tuple is a logged packet's 5-tuple (ports 0 where the protocol has none).
type Tuple struct {
	Protocol         uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// Attrs are the tuple's attributes in a record line.
func (t Tuple) Attrs() []slog.Attr {
	return []slog.Attr{
		slog.Int("protocol", int(t.Protocol)),
		slog.String("src", t.Src.String()),
		slog.String("dst", t.Dst.String()),
		slog.Int("src_port", int(t.SrcPort)),
		slog.Int("dst_port", int(t.DstPort)),
	}
}

// HasPorts reports whether protocol number p has transport ports: TCP,
// UDP, SCTP, DCCP.
func HasPorts(p uint8) bool { return p == 6 || p == 17 || p == 132 || p == 33 }

// Parse reads the 5-tuple of an IPv4 or IPv6 packet (extension headers are
// not walked: an IPv6 packet with one reports it as the protocol, without
// ports).
func Parse(b []byte) (Tuple, bool) {
	var t Tuple
	if len(b) < 1 {
		return t, false
	}
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return t, false
		}
		ihl := int(b[0]&0x0f) * 4
		t.Protocol = b[9]
		t.Src = netip.AddrFrom4([4]byte(b[12:16]))
		t.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		if ihl >= 20 && len(b) >= ihl {
			l4 = b[ihl:]
		}
	case 6:
		if len(b) < 40 {
			return t, false
		}
		t.Protocol = b[6]
		t.Src = netip.AddrFrom16([16]byte(b[8:24]))
		t.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		l4 = b[40:]
	default:
		return t, false
	}
	if HasPorts(t.Protocol) && len(l4) >= 4 {
		t.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		t.DstPort = binary.BigEndian.Uint16(l4[2:4])
	}
	return t, true
}

// Stats counts the flow records delivered, per verdict, and the packets
// whose prefix named no known log (a rule left from an earlier policy,
// before the next Apply removes it).
type Stats struct {
	Accepted, Dropped, Unknown uint64
}

// Counters are the live counts behind Stats; the zero value is ready.
type Counters struct{ accepted, dropped, unknown atomic.Uint64 }

// Stats returns the counts so far.
func (c *Counters) Stats() Stats {
	return Stats{Accepted: c.accepted.Load(), Dropped: c.dropped.Load(), Unknown: c.unknown.Load()}
}

// Count counts one record of verdict (ACCEPT or DROP).
func (c *Counters) Count(verdict string) {
	if verdict == EventAccept {
		c.accepted.Add(1)
	} else {
		c.dropped.Add(1)
	}
}

// Unknown counts one packet with an unknown prefix.
func (c *Counters) Unknown() { c.unknown.Add(1) }
