package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/firewall"
)

// The flow-record counter reads the realizers' counts at scrape time, one
// series per realizer and verdict.
func TestFlowRecordMetric(t *testing.T) {
	m := newMetrics()
	stats := map[string]firewall.FlowStats{"secgroup": {Accepted: 2, Dropped: 3}, "firewall": {Dropped: 1, Unknown: 4}}
	m.flows.source(func() map[string]firewall.FlowStats { return stats })
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	body := scrape()
	for _, want := range []string{
		`neutrino_flow_records_total{realizer="secgroup",verdict="ACCEPT"} 2`,
		`neutrino_flow_records_total{realizer="secgroup",verdict="DROP"} 3`,
		`neutrino_flow_records_total{realizer="firewall",verdict="DROP"} 1`,
		`neutrino_flow_records_total{realizer="firewall",verdict="unknown"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	stats = map[string]firewall.FlowStats{"secgroup": {Accepted: 7}}
	if body := scrape(); !strings.Contains(body, `neutrino_flow_records_total{realizer="secgroup",verdict="ACCEPT"} 7`) {
		t.Error("the counter does not follow the realizer's count")
	}
}
