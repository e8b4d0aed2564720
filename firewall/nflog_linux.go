package firewall

import (
	"fmt"
	"sync/atomic"

	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/internal/nflog"
)

// listener reads one namespace's NFLOG group and turns each packet into a
// FlowRecord, looking its prefix up in the table the last Apply compiled.
type listener struct {
	router  string
	reader  *nflog.Reader
	cfg     *config
	counts  *flowlog.Counters
	sources atomic.Pointer[map[string]*logSource]
}

// listen binds the configured NFLOG group in the namespace nsFd refers to
// (router id's, or the host's for hostTable).
func listen(nsFd int, router string, cfg *config, counts *flowlog.Counters) (*listener, error) {
	l := &listener{router: router, cfg: cfg, counts: counts}
	r, err := nflog.Listen(nsFd, cfg.group, cfg.log, l.packet)
	if err != nil {
		return nil, fmt.Errorf("flow log reader of router %q: %w", router, err)
	}
	l.reader = r
	return l, nil
}

// setSources replaces the prefix table records are looked up in.
func (l *listener) setSources(m map[string]*logSource) { l.sources.Store(&m) }

func (l *listener) packet(p nflog.Packet) {
	var src *logSource
	if m := l.sources.Load(); m != nil {
		src = (*m)[p.Prefix]
	}
	if src == nil {
		l.counts.Unknown()
		return
	}
	r := FlowRecord{Time: p.Time, Router: l.router, LogIDs: src.LogIDs, PortID: src.PortID, FirewallGroupID: src.GroupID,
		RuleID: src.RuleID, Direction: src.Direction, Verdict: src.Verdict}
	parsePacket(p.Payload, &r)
	l.cfg.emit(l.counts, r)
}

// Close stops the reader.
func (l *listener) Close() error { return l.reader.Close() }
