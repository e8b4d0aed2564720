package main

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/neutrino-net/neutrino/metadata"
)

// metadataMetrics exports the metadata proxy's own totals, taken after
// each pass: they are counters of the process, so they are exported as
// such rather than re-counted here.
type metadataMetrics struct {
	requests, upstream, upstreamSeconds, upstreamMax, listeners *prometheus.Desc

	mu sync.Mutex
	st metadata.Stats
}

func newMetadataMetrics() *metadataMetrics {
	return &metadataMetrics{
		requests: prometheus.NewDesc("neutrino_metadata_requests_total",
			"Metadata requests by result (not_found, rate_limited, upstream_error, or Nova's status code).", []string{"result"}, nil),
		upstream: prometheus.NewDesc("neutrino_metadata_upstream_requests_total",
			"Metadata requests that reached Nova.", nil, nil),
		upstreamSeconds: prometheus.NewDesc("neutrino_metadata_upstream_seconds_total",
			"Time spent waiting for Nova, summed over requests.", nil, nil),
		upstreamMax: prometheus.NewDesc("neutrino_metadata_upstream_max_seconds",
			"Longest wait for Nova since the agent started.", nil, nil),
		listeners: prometheus.NewDesc("neutrino_metadata_listeners",
			"Metadata listeners open (router and DHCP namespaces).", nil, nil),
	}
}

func (m *metadataMetrics) set(st metadata.Stats) {
	m.mu.Lock()
	m.st = st
	m.mu.Unlock()
}

func (m *metadataMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.requests
	ch <- m.upstream
	ch <- m.upstreamSeconds
	ch <- m.upstreamMax
	ch <- m.listeners
}

func (m *metadataMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for result, n := range m.st.Requests {
		ch <- prometheus.MustNewConstMetric(m.requests, prometheus.CounterValue, float64(n), result)
	}
	ch <- prometheus.MustNewConstMetric(m.upstream, prometheus.CounterValue, float64(m.st.Upstream))
	ch <- prometheus.MustNewConstMetric(m.upstreamSeconds, prometheus.CounterValue, m.st.UpstreamTotal.Seconds())
	ch <- prometheus.MustNewConstMetric(m.upstreamMax, prometheus.GaugeValue, m.st.UpstreamMax.Seconds())
	ch <- prometheus.MustNewConstMetric(m.listeners, prometheus.GaugeValue, float64(m.st.Listeners))
}
