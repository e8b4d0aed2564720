package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/agent"
	"github.com/neutrino-net/neutrino/bgp"
)

// cmdRun converges, then keeps converging: when the topology file changes,
// every resync interval, and shortly after the kernel changes under it. An
// invalid topology file is reported and the last good state stays realized.
// SIGTERM stops the agent and leaves the dataplane in place.
func cmdRun(ctx context.Context, o options, log *slog.Logger) error {
	host, node, err := openNode(o, log)
	if err != nil {
		return err
	}
	defer host.Close()
	defer node.Close()

	r := &runner{o: o, log: log, node: node, m: newMetrics(), h: &health{maxAge: 3 * o.resync}}
	r.m.flows.source(node.FlowStats)
	stopMetrics, err := serveMetrics(o.metricsAddr, r.m, r.h, log)
	if err != nil {
		return err
	}
	defer stopMetrics()

	r.triggers = make(chan trigger, 4)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.etcd.endpoints != "" {
		if r.feed, err = startEtcd(wctx, o, r.m, log, r.triggers); err != nil {
			return err
		}
	} else {
		go watchFile(wctx, o.topology, o.filePoll, r.triggers)
	}
	go watchKernel(wctx, host, log, r.triggers)
	r.owned = newOwnedWatch(o.prefix, log, r.triggers)
	defer r.owned.stop()

	r.load()
	r.apply(ctx, wctx, triggerFile)
	tick := time.NewTicker(o.resync)
	defer tick.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping; the dataplane stays in place")
			return nil
		case <-tick.C:
			r.apply(ctx, wctx, triggerInterval)
		case t := <-r.triggers:
			switch t {
			case triggerFile:
				if r.load() {
					r.apply(ctx, wctx, triggerFile)
				}
			case triggerKernel:
				if debounce == nil {
					debounce = time.After(o.kernelDebounce)
				}
			}
		case <-debounce:
			debounce = nil
			r.apply(ctx, wctx, triggerKernel)
		}
	}
}

// serveMetrics serves /metrics and /healthz on addr ("" serves nothing)
// until the returned stop is called.
func serveMetrics(addr string, m *metrics, h *health, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m)
	mux.Handle("/healthz", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// runner is the state of the run loop: the last good topology and what
// records each pass.
type runner struct {
	o        options
	log      *slog.Logger
	node     *agent.Node
	m        *metrics
	h        *health
	triggers chan trigger
	owned    *ownedWatch
	feed     *feed // the etcd source, or nil for the file
	good     *neutrino.Topology
}

// load takes the newest desired state and reports whether to apply it:
// always for the file (a bad file re-applies the last good state); for
// etcd only when a new good state concerns this host.
func (r *runner) load() bool {
	if r.feed != nil {
		t, concerned := r.feed.next(r.m, r.log)
		if t != nil {
			r.good = t
		}
		return t != nil && concerned
	}
	t, err := loadTopology(r.o)
	if err != nil {
		r.m.loadErrors.Inc()
		r.m.topologyValid.Set(0)
		if r.good != nil {
			r.log.Error("topology rejected; keeping the last good state", "file", r.o.topology, "err", errorsText(err))
		} else {
			r.log.Error("topology rejected; nothing realized yet", "file", r.o.topology, "err", errorsText(err))
		}
		return true
	}
	r.m.topologyValid.Set(1)
	r.good = t
	return true
}

// apply runs one pass over the last good topology and records it; wctx
// scopes the watchers it refreshes.
func (r *runner) apply(ctx, wctx context.Context, why trigger) {
	r.m.resyncs.WithLabelValues(string(why)).Inc()
	if r.good == nil {
		return
	}
	start := time.Now()
	rep, err := r.node.Apply(ctx, r.good)
	r.m.applyDuration.Observe(time.Since(start).Seconds())
	recordReport(r.m, rep)
	r.h.record(err)
	if err != nil {
		r.m.applies.WithLabelValues("error").Inc()
		r.log.Error("apply", "trigger", why, "mutations", rep.Mutations(), "err", errorsText(err))
	} else {
		r.m.applies.WithLabelValues("ok").Inc()
		r.m.lastSuccess.SetToCurrentTime()
		lvl := slog.LevelDebug
		if rep.Mutations() > 0 {
			lvl = slog.LevelInfo
		}
		r.log.Log(ctx, lvl, "apply", "trigger", why, "mutations", rep.Mutations(), "took", time.Since(start).String())
	}
	recordBGP(ctx, r.m, r.node)
	recordDHCP(r.m, r.node)
	recordLoadBalancers(r.m, r.node)
	recordVPN(r.m, r.node)
	r.owned.refresh(wctx)
	// Our own changes echo back as kernel events: drop those that arrived
	// while applying; a resync that finds nothing ends the echo.
	drain(r.triggers, triggerKernel)
}

// drain removes pending triggers of one kind, keeping the others.
func drain(ch chan trigger, kind trigger) {
	var keep []trigger
	for {
		select {
		case t := <-ch:
			if t != kind {
				keep = append(keep, t)
			}
		default:
			for _, t := range keep {
				send(ch, t)
			}
			return
		}
	}
}

func recordReport(m *metrics, rep *agent.Report) {
	for _, s := range rep.Steps {
		for op, counts := range map[string]map[string]int{"create": s.Created, "update": s.Updated, "delete": s.Deleted} {
			for kind, n := range counts {
				m.mutations.WithLabelValues(s.Realizer, kind, op).Add(float64(n))
			}
		}
		if s.Err != nil {
			m.applyErrors.WithLabelValues(s.Realizer).Inc()
		}
	}
}

func recordBGP(ctx context.Context, m *metrics, node *agent.Node) {
	srv := node.BGP()
	if srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := srv.Status(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return
	}
	m.bgpPeerUp.Reset()
	for _, p := range st.Peers {
		up := 0.0
		if p.State == bgp.StateEstablished {
			up = 1
		}
		m.bgpPeerUp.WithLabelValues(p.Address.String(), p.ID).Set(up)
	}
	m.bgpAdvertised.Set(float64(st.Advertised))
}

// recordDHCP publishes leases served per network. The servers count from
// their start, so the series is a gauge-like counter that resets when a
// server restarts, as a process counter would.
func recordDHCP(m *metrics, node *agent.Node) {
	by := map[string]float64{}
	for id, st := range node.DHCPStats() {
		by[id] = float64(st.Acks4 + st.Replies6)
	}
	m.dhcp.set(by)
	m.metadata.set(node.MetadataStats())
}
