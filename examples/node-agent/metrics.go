package main

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// metrics is a small Prometheus text-format registry: counters and gauges
// with labels. The agent needs a dozen series; a client library would be the
// largest dependency of the binary.
type metrics struct {
	mu     sync.Mutex
	help   map[string]string
	kind   map[string]string
	series map[string]map[string]float64 // name -> rendered labels -> value
}

func newMetrics() *metrics {
	m := &metrics{help: map[string]string{}, kind: map[string]string{}, series: map[string]map[string]float64{}}
	m.define("neutrino_applies_total", "counter", "Apply runs by result (ok, error).")
	m.define("neutrino_mutations_total", "counter", "Kernel mutations issued, by realizer, kind and operation.")
	m.define("neutrino_apply_errors_total", "counter", "Apply errors by realizer.")
	m.define("neutrino_last_success_timestamp_seconds", "gauge", "Unix time of the last Apply without error.")
	m.define("neutrino_apply_duration_seconds", "gauge", "Duration of the last Apply.")
	m.define("neutrino_topology_load_errors_total", "counter", "Topology files that failed to load or validate.")
	m.define("neutrino_topology_valid", "gauge", "1 if the current topology file is valid, 0 if the last good one is being kept.")
	m.define("neutrino_bgp_peer_up", "gauge", "1 if the BGP session with the peer is established.")
	m.define("neutrino_bgp_advertised_routes", "gauge", "Routes advertised by the BGP speaker.")
	m.define("neutrino_dhcp_leases_total", "counter", "DHCP leases served (acks), by network.")
	m.define("neutrino_resyncs_total", "counter", "Resyncs by trigger (file, interval, kernel).")
	m.define("neutrino_ipsec_connection_up", "gauge", "1 if the IPsec site connection is ACTIVE (an installed CHILD_SA), 0 if DOWN.")
	return m
}

func (m *metrics) define(name, kind, help string) {
	m.kind[name], m.help[name] = kind, help
	m.series[name] = map[string]float64{}
}

func labels(kv ...string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", kv[i], kv[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// Add increases a counter.
func (m *metrics) Add(name string, v float64, kv ...string) {
	m.mu.Lock()
	m.series[name][labels(kv...)] += v
	m.mu.Unlock()
}

// Set sets a gauge.
func (m *metrics) Set(name string, v float64, kv ...string) {
	m.mu.Lock()
	m.series[name][labels(kv...)] = v
	m.mu.Unlock()
}

// Reset drops every series of a gauge family, before re-setting the current ones.
func (m *metrics) Reset(name string) {
	m.mu.Lock()
	m.series[name] = map[string]float64{}
	m.mu.Unlock()
}

func (m *metrics) Get(name string, kv ...string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.series[name][labels(kv...)]
}

func (m *metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.series))
	for n := range m.series {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", n, m.help[n], n, m.kind[n])
		ls := make([]string, 0, len(m.series[n]))
		for l := range m.series[n] {
			ls = append(ls, l)
		}
		sort.Strings(ls)
		for _, l := range ls {
			fmt.Fprintf(&b, "%s%s %g\n", n, l, m.series[n][l])
		}
	}
	k, err := io.WriteString(w, b.String())
	return int64(k), err
}

func (m *metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = m.WriteTo(w)
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
