package secgroup

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/neutrino-net/neutrino/internal/flowlog"
)

// FlowRecord is one logged packet: the first packet of a flow a security
// group rule accepted (every packet, for stateless groups), or a packet
// no group allowed (Neutron's logging API). It has the firewall's
// FlowRecord shape, with the security group in place of the firewall
// group.
type FlowRecord struct {
	Time time.Time
	// LogIDs are the logs that asked for the record.
	LogIDs []string
	PortID string
	// SecurityGroupID is the group whose rule accepted the packet; empty
	// for drops, which no group decides (Neutron's drop lines name none
	// either).
	SecurityGroupID string
	// RuleID is the security group rule that accepted, or "default" (no
	// rule of the port's groups allowed the packet).
	RuleID    string
	Direction string // ingress or egress, seen from the instance
	Verdict   string // ACCEPT or DROP
	// The packet's 5-tuple (ports 0 where the protocol has none).
	Protocol         uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// attrs renders the record as the attributes of one structured line, the
// firewall's names with security_group_id for firewall_group_id.
func (r FlowRecord) attrs() []slog.Attr {
	attrs := []slog.Attr{
		slog.Time("event_time", r.Time),
		slog.Any("log_ids", r.LogIDs),
		slog.String("port_id", r.PortID),
		slog.String("security_group_id", r.SecurityGroupID),
		slog.String("rule_id", r.RuleID),
		slog.String("direction", r.Direction),
		slog.String("action", r.Verdict),
	}
	t := flowlog.Tuple{Protocol: r.Protocol, Src: r.Src, Dst: r.Dst, SrcPort: r.SrcPort, DstPort: r.DstPort}
	return append(attrs, t.Attrs()...)
}

// FlowStats counts the flow records delivered, per verdict, and the
// packets whose prefix or mark named no known log.
type FlowStats = flowlog.Stats

// emit delivers a record to the configured sinks and counts it.
func (cfg *config) emit(c *flowlog.Counters, r FlowRecord) {
	c.Count(r.Verdict)
	if cfg.flows != nil {
		cfg.flows.LogAttrs(context.Background(), slog.LevelInfo, "security group flow", r.attrs()...)
	}
	if cfg.sink != nil {
		cfg.sink(r)
	}
}

// record maps a logged packet (its prefix, mark, payload) back to a
// record through the logging plan of the last Apply; false if the plan
// knows neither the prefix nor the port.
func (lp *logPlan) record(ports map[uint32]*portInfo, cfg *config, px string, mark uint32, payload []byte, t time.Time) (FlowRecord, bool) {
	src, ok := lp.sources[px]
	if !ok {
		return FlowRecord{}, false
	}
	n := (mark & cfg.mask) >> cfg.shift
	pi := ports[n]
	ids := lp.ids[logKey{port: n, group: src.group, verdict: src.verdict}]
	if pi == nil || len(ids) == 0 {
		return FlowRecord{}, false
	}
	r := FlowRecord{Time: t, LogIDs: ids, PortID: pi.id, SecurityGroupID: src.group, RuleID: src.rule,
		Direction: src.dir, Verdict: src.verdict}
	if tu, ok := flowlog.Parse(payload); ok {
		r.Protocol, r.Src, r.Dst, r.SrcPort, r.DstPort = tu.Protocol, tu.Src, tu.Dst, tu.SrcPort, tu.DstPort
	}
	return r, true
}
