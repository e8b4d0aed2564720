package firewall

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/neutrino-net/neutrino/internal/flowlog"
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
	attrs := []slog.Attr{
		slog.Time("event_time", r.Time),
		slog.Any("log_ids", r.LogIDs),
		slog.String("router_id", r.Router),
		slog.String("port_id", r.PortID),
		slog.String("firewall_group_id", r.FirewallGroupID),
		slog.String("rule_id", r.RuleID),
		slog.String("direction", r.Direction),
		slog.String("action", r.Verdict),
	}
	t := flowlog.Tuple{Protocol: r.Protocol, Src: r.Src, Dst: r.Dst, SrcPort: r.SrcPort, DstPort: r.DstPort}
	return append(attrs, t.Attrs()...)
}

// FlowStats counts the flow records delivered, per verdict, and the
// packets whose prefix named no known log.
type FlowStats = flowlog.Stats

// emit delivers a record to the configured sinks and counts it.
func (cfg *config) emit(c *flowlog.Counters, r FlowRecord) {
	c.Count(r.Verdict)
	if cfg.flows != nil {
		cfg.flows.LogAttrs(context.Background(), slog.LevelInfo, "firewall flow", r.attrs()...)
	}
	if cfg.sink != nil {
		cfg.sink(r)
	}
}

// parsePacket fills the record's 5-tuple from an IPv4 or IPv6 packet.
func parsePacket(b []byte, r *FlowRecord) bool {
	t, ok := flowlog.Parse(b)
	if ok {
		r.Protocol, r.Src, r.Dst, r.SrcPort, r.DstPort = t.Protocol, t.Src, t.Dst, t.SrcPort, t.DstPort
	}
	return ok
}
