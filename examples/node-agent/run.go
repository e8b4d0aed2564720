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

	m := newMetrics()
	h := &health{maxAge: 3 * o.resync}
	if o.metricsAddr != "" {
		ln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m)
		mux.Handle("/healthz", h)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		log.Info("serving metrics", "addr", ln.Addr().String())
	}

	triggers := make(chan trigger, 4)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go watchFile(wctx, o.topology, o.filePoll, triggers)
	go watchKernel(wctx, host, log, triggers)
	owned := newOwnedWatch(o.prefix, log, triggers)
	defer owned.stop()

	var good *neutrino.Topology
	load := func() {
		t, err := loadTopology(o)
		if err != nil {
			m.Add("neutrino_topology_load_errors_total", 1)
			m.Set("neutrino_topology_valid", 0)
			if good != nil {
				log.Error("topology rejected; keeping the last good state", "file", o.topology, "err", errorsText(err))
			} else {
				log.Error("topology rejected; nothing realized yet", "file", o.topology, "err", errorsText(err))
			}
			return
		}
		m.Set("neutrino_topology_valid", 1)
		good = t
	}
	apply := func(why trigger) {
		m.Add("neutrino_resyncs_total", 1, "trigger", string(why))
		if good == nil {
			return
		}
		start := time.Now()
		rep, err := node.Apply(ctx, good)
		m.Set("neutrino_apply_duration_seconds", time.Since(start).Seconds())
		recordReport(m, rep)
		h.record(err)
		if err != nil {
			m.Add("neutrino_applies_total", 1, "result", "error")
			log.Error("apply", "trigger", why, "mutations", rep.Mutations(), "err", errorsText(err))
		} else {
			m.Add("neutrino_applies_total", 1, "result", "ok")
			m.Set("neutrino_last_success_timestamp_seconds", float64(time.Now().Unix()))
			lvl := slog.LevelDebug
			if rep.Mutations() > 0 {
				lvl = slog.LevelInfo
			}
			log.Log(ctx, lvl, "apply", "trigger", why, "mutations", rep.Mutations(), "took", time.Since(start).String())
		}
		recordBGP(ctx, m, node)
		recordDHCP(m, node)
		recordVPN(m, node)
		owned.refresh(wctx)
		// Our own changes echo back as kernel events: drop those that
		// arrived while applying; a resync that finds nothing ends the echo.
		drain(triggers, triggerKernel)
	}

	load()
	apply(triggerFile)
	tick := time.NewTicker(o.resync)
	defer tick.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping; the dataplane stays in place")
			return nil
		case <-tick.C:
			apply(triggerInterval)
		case t := <-triggers:
			switch t {
			case triggerFile:
				load()
				apply(triggerFile)
			case triggerKernel:
				if debounce == nil {
					debounce = time.After(o.kernelDebounce)
				}
			}
		case <-debounce:
			debounce = nil
			apply(triggerKernel)
		}
	}
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
				m.Add("neutrino_mutations_total", float64(n), "realizer", s.Realizer, "kind", kind, "op", op)
			}
		}
		if s.Err != nil {
			m.Add("neutrino_apply_errors_total", 1, "realizer", s.Realizer)
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
	m.Reset("neutrino_bgp_peer_up")
	for _, p := range st.Peers {
		up := 0.0
		if p.State == bgp.StateEstablished {
			up = 1
		}
		m.Set("neutrino_bgp_peer_up", up, "peer", p.Address.String(), "id", p.ID)
	}
	m.Set("neutrino_bgp_advertised_routes", float64(st.Advertised))
}

// recordDHCP publishes leases served per network. The servers count from
// their start, so the series is a gauge-like counter that resets when a
// server restarts, as a process counter would.
func recordDHCP(m *metrics, node *agent.Node) {
	m.Reset("neutrino_dhcp_leases_total")
	for id, st := range node.DHCPStats() {
		m.Set("neutrino_dhcp_leases_total", float64(st.Acks4+st.Replies6), "network", id)
	}
}
