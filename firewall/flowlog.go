package firewall

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"
)

// FlowRecord is one logged packet: the first packet of a flow a firewall
// group accepted, or a packet it dropped (Neutron's logging API).
type FlowRecord struct {
	Time time.Time
	// LogIDs are the logs that asked for the record.
	LogIDs []string
	// Router is the router whose namespace filtered the packet.
	Router          string
	PortID          string
	FirewallGroupID string
	// RuleID is the firewall rule that decided, or "default" (no rule
	// matched), "invalid" (not a valid conntrack state), or
	// "admin_state_down" (the group is down).
	RuleID    string
	Direction string // ingress or egress
	Verdict   string // ACCEPT or DROP
	// The packet's 5-tuple (ports 0 where the protocol has none).
	Protocol         uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// attrs renders the record as the attributes of one structured line.
func (r FlowRecord) attrs() []slog.Attr {
	return []slog.Attr{
		slog.Time("event_time", r.Time),
		slog.Any("log_ids", r.LogIDs),
		slog.String("router_id", r.Router),
		slog.String("port_id", r.PortID),
		slog.String("firewall_group_id", r.FirewallGroupID),
		slog.String("rule_id", r.RuleID),
		slog.String("direction", r.Direction),
		slog.String("action", r.Verdict),
		slog.Int("protocol", int(r.Protocol)),
		slog.String("src", r.Src.String()),
		slog.String("dst", r.Dst.String()),
		slog.Int("src_port", int(r.SrcPort)),
		slog.Int("dst_port", int(r.DstPort)),
	}
}

// FlowStats counts the flow records delivered, per verdict, and the
// packets whose prefix named no known log (a rule left from an earlier
// policy, before the next Apply removes it).
type FlowStats struct {
	Accepted, Dropped, Unknown uint64
}

type flowCounters struct{ accepted, dropped, unknown atomic.Uint64 }

func (c *flowCounters) stats() FlowStats {
	return FlowStats{Accepted: c.accepted.Load(), Dropped: c.dropped.Load(), Unknown: c.unknown.Load()}
}

// emit delivers a record to the configured sinks and counts it.
func (cfg *config) emit(c *flowCounters, r FlowRecord) {
	if r.Verdict == EventAccept {
		c.accepted.Add(1)
	} else {
		c.dropped.Add(1)
	}
	if cfg.flows != nil {
		cfg.flows.LogAttrs(context.Background(), slog.LevelInfo, "firewall flow", r.attrs()...)
	}
	if cfg.sink != nil {
		cfg.sink(r)
	}
}

// parsePacket fills the record's 5-tuple from an IPv4 or IPv6 packet
// (extension headers are not walked: an IPv6 packet with one reports it
// as the protocol, without ports).
func parsePacket(b []byte, r *FlowRecord) bool {
	if len(b) < 1 {
		return false
	}
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return false
		}
		ihl := int(b[0]&0x0f) * 4
		r.Protocol = b[9]
		r.Src = netip.AddrFrom4([4]byte(b[12:16]))
		r.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		if ihl >= 20 && len(b) >= ihl {
			l4 = b[ihl:]
		}
	case 6:
		if len(b) < 40 {
			return false
		}
		r.Protocol = b[6]
		r.Src = netip.AddrFrom16([16]byte(b[8:24]))
		r.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		l4 = b[40:]
	default:
		return false
	}
	if hasPorts(r.Protocol) && len(l4) >= 4 {
		r.SrcPort = binary.BigEndian.Uint16(l4[0:2])
		r.DstPort = binary.BigEndian.Uint16(l4[2:4])
	}
	return true
}
