package main

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/neutrino-net/neutrino/firewall"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the agent's Prometheus series, on a registry of its own (no
// global default registry) with the Go runtime and process collectors.
type metrics struct {
	reg            *prometheus.Registry
	applies        *prometheus.CounterVec // result: ok, error
	mutations      *prometheus.CounterVec // realizer, kind, op
	applyErrors    *prometheus.CounterVec // realizer
	lastSuccess    prometheus.Gauge
	applyDuration  prometheus.Histogram
	loadErrors     prometheus.Counter
	topologyValid  prometheus.Gauge
	bgpPeerUp      *prometheus.GaugeVec // peer, id
	bgpAdvertised  prometheus.Gauge
	resyncs        *prometheus.CounterVec // trigger
	lbStatus       *prometheus.GaugeVec   // loadbalancer, provisioning_status, operating_status
	lbMemberStatus *prometheus.GaugeVec   // loadbalancer, member, status
	// The desired-state source (etcd; source.go).
	sourceConnected, sourceRevision, sourceStale prometheus.Gauge
	sourceRejected                               prometheus.Counter
	ipsecUp                                      *prometheus.GaugeVec // connection
	metadata                                     *metadataMetrics
	dhcp                                         *dhcpLeases
	flows                                        *flowRecords
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		applies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "neutrino_applies_total",
			Help: "Apply runs by result (ok, error)."}, []string{"result"}),
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "neutrino_mutations_total",
			Help: "Kernel mutations issued, by realizer, kind and operation."}, []string{"realizer", "kind", "op"}),
		applyErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "neutrino_apply_errors_total",
			Help: "Apply errors by realizer."}, []string{"realizer"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "neutrino_last_success_timestamp_seconds",
			Help: "Unix time of the last Apply without error."}),
		// A no-op pass takes milliseconds, a bring-up seconds: buckets from
		// 1 ms to ~16 s.
		applyDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "neutrino_apply_duration_seconds",
			Help: "Duration of Apply passes.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		loadErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "neutrino_topology_load_errors_total",
			Help: "Topology files that failed to load or validate."}),
		topologyValid: prometheus.NewGauge(prometheus.GaugeOpts{Name: "neutrino_topology_valid",
			Help: "1 if the current topology file is valid, 0 if the last good one is being kept."}),
		bgpPeerUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "neutrino_bgp_peer_up",
			Help: "1 if the BGP session with the peer is established."}, []string{"peer", "id"}),
		bgpAdvertised: prometheus.NewGauge(prometheus.GaugeOpts{Name: "neutrino_bgp_advertised_routes",
			Help: "Routes advertised by the BGP speaker."}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "neutrino_resyncs_total",
			Help: "Resyncs by trigger (file, interval, kernel)."}, []string{"trigger"}),
		lbStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "neutrino_loadbalancer_status",
			Help: "1 for each load balancer's current provisioning and operating status."},
			[]string{"loadbalancer", "provisioning_status", "operating_status"}),
		lbMemberStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "neutrino_loadbalancer_member_status",
			Help: "1 for each load-balancer member's current operating status."}, []string{"loadbalancer", "member", "status"}),
		sourceConnected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "neutrino_source_connected",
			Help: "1 while the desired-state source (etcd) is reachable and watched."}),
		sourceRevision: prometheus.NewGauge(prometheus.GaugeOpts{Name: "neutrino_source_revision",
			Help: "Revision of the last good desired state."}),
		sourceStale: prometheus.NewGauge(prometheus.GaugeOpts{Name: "neutrino_source_stale_seconds",
			Help: "Seconds since the source became unreachable (0 while connected): the realized state may be this old."}),
		sourceRejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "neutrino_source_rejected_total",
			Help: "Desired states rejected as invalid or events reporting the source unreachable."}),
		ipsecUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "neutrino_ipsec_connection_up",
			Help: "1 if the IPsec site connection is ACTIVE, 0 if DOWN, as of the last Apply."}, []string{"connection"}),
		metadata: newMetadataMetrics(),
		dhcp: &dhcpLeases{desc: prometheus.NewDesc("neutrino_dhcp_leases_total",
			"DHCP leases served (acks), by network.", []string{"network"}, nil)},
		flows: &flowRecords{desc: prometheus.NewDesc("neutrino_flow_records_total",
			"Flow records of Neutron network logging delivered, by realizer (firewall, secgroup) and verdict (ACCEPT, DROP; unknown: packets of no known log).",
			[]string{"realizer", "verdict"}, nil)},
	}
	m.reg.MustRegister(m.applies, m.mutations, m.applyErrors, m.lastSuccess, m.applyDuration, m.loadErrors,
		m.topologyValid, m.bgpPeerUp, m.bgpAdvertised, m.resyncs, m.lbStatus, m.lbMemberStatus,
		m.sourceConnected, m.sourceRevision, m.sourceStale, m.sourceRejected, m.ipsecUp, m.metadata, m.dhcp, m.flows,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// dhcpLeases exports the DHCP servers' own counters: each counts from its
// start, so the series resets when a server restarts, as a process
// counter would. The agent sets a snapshot after each pass.
type dhcpLeases struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	by   map[string]float64 // network ID -> leases
}

func (d *dhcpLeases) set(by map[string]float64) {
	d.mu.Lock()
	d.by = by
	d.mu.Unlock()
}

func (d *dhcpLeases) Describe(ch chan<- *prometheus.Desc) { ch <- d.desc }

func (d *dhcpLeases) Collect(ch chan<- prometheus.Metric) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, v := range d.by {
		ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, v, id)
	}
}

// flowRecords exports the realizers' own flow-record counters, read at
// scrape time (they are atomics, counted from the agent's start).
type flowRecords struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	src  func() map[string]firewall.FlowStats
}

func (f *flowRecords) source(src func() map[string]firewall.FlowStats) {
	f.mu.Lock()
	f.src = src
	f.mu.Unlock()
}

func (f *flowRecords) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

func (f *flowRecords) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	src := f.src
	f.mu.Unlock()
	if src == nil {
		return
	}
	for realizer, st := range src() {
		for _, v := range []struct {
			verdict string
			n       uint64
		}{{firewall.EventAccept, st.Accepted}, {firewall.EventDrop, st.Dropped}, {"unknown", st.Unknown}} {
			ch <- prometheus.MustNewConstMetric(f.desc, prometheus.CounterValue, float64(v.n), realizer, v.verdict)
		}
	}
}

// health answers /healthz: 200 while the last Apply succeeded recently
// enough, 503 with the reason otherwise.
type health struct {
	mu      sync.Mutex
	lastOK  time.Time
	lastErr error
	maxAge  time.Duration
}

func (h *health) record(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastErr = err
	if err == nil {
		h.lastOK = time.Now()
	}
}

func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.lastOK.IsZero():
		http.Error(w, "not converged yet", http.StatusServiceUnavailable)
	case h.lastErr != nil:
		http.Error(w, "last apply failed: "+h.lastErr.Error(), http.StatusServiceUnavailable)
	case h.maxAge > 0 && time.Since(h.lastOK) > h.maxAge:
		http.Error(w, "no successful apply for "+time.Since(h.lastOK).Round(time.Second).String(), http.StatusServiceUnavailable)
	default:
		fmt.Fprintf(w, "ok, last apply %s ago\n", time.Since(h.lastOK).Round(time.Millisecond))
	}
}
