package firewall

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/port"
)

// bigFor is a group on vm1's router interface whose ingress policy has n
// rules that never match the benchmark's traffic, then one allowing
// iperf3 (TCP 5201): a new flow walks every rule.
func bigFor(w *world, n int) Desired {
	d := Desired{Ports: []port.Port{w.p1, w.p2, w.pg}}
	pol := Policy{ID: "big"}
	for i := range n {
		id := fmt.Sprintf("rule-%05d", i)
		d.FirewallRules = append(d.FirewallRules, Rule{ID: id, Protocol: "tcp", DestinationPort: strconv.Itoa(10000 + i), Action: "allow"})
		pol.Rules = append(pol.Rules, id)
	}
	d.FirewallRules = append(d.FirewallRules, Rule{ID: "iperf", Protocol: "tcp", DestinationPort: "5201", Action: "allow"})
	pol.Rules = append(pol.Rules, "iperf")
	d.FirewallPolicies = []Policy{pol}
	d.FirewallGroups = []Group{{ID: "g", Ports: []string{w.p1.ID}, IngressPolicyID: "big"}}
	return d
}

// BenchmarkRuleChange measures one rule changed in the middle of a policy
// of n rules, source to kernel: validate, compile, read the table back,
// diff, commit, cut flows. kernel-objects/op counts the mutations (rules
// deleted and added), which stay at 2 whatever n is; the time grows with
// n through the read-back of the table.
func BenchmarkRuleChange(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			w := newWorld(b)
			r := w.realizer()
			d := bigFor(w, n)
			w.apply(r, d)
			mutations := 0
			b.ResetTimer()
			for i := range b.N {
				d.FirewallRules[n/2].DestinationPort = strconv.Itoa(30000 + i%2)
				rep, err := r.Apply(context.Background(), d)
				if err != nil {
					b.Fatal(err)
				}
				mutations += rep.Mutations()
			}
			b.ReportMetric(float64(mutations)/float64(b.N), "kernel-objects/op")
		})
	}
}

// BenchmarkThroughput measures TCP throughput (iperf3, 2 s) from vm2 to
// vm1 through the router, without a firewall and with 1,000 rules in
// front of the one that allows it, in one run. Established packets return
// after the conntrack check, so only a flow's first packet walks the
// rules.
func BenchmarkThroughput(b *testing.B) {
	lab.RequireCmd(b, "iperf3")
	w := newWorld(b)
	r := w.realizer()
	w.l.Start(w.vm1, "iperf3", "-s", "-p", "5201")
	run := func() float64 {
		var out string
		var err error
		for range 20 { // the server may still be starting
			out, err = w.l.Run(w.vm2, 30*time.Second, "iperf3", "-c", vm1v4, "-p", "5201", "-t", "2", "-J")
			if err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			b.Fatalf("iperf3: %v\n%s", err, out)
		}
		var res struct {
			End struct {
				SumReceived struct {
					BitsPerSecond float64 `json:"bits_per_second"`
				} `json:"sum_received"`
			} `json:"end"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			b.Fatalf("iperf3 output: %v\n%s", err, out)
		}
		return res.End.SumReceived.BitsPerSecond / 1e9
	}
	var none, big float64
	for range b.N {
		w.apply(r, Desired{})
		none += run()
		w.apply(r, bigFor(w, 1000))
		big += run()
	}
	b.ReportMetric(none/float64(b.N), "Gbit/s-no-firewall")
	b.ReportMetric(big/float64(b.N), "Gbit/s-1000-rules")
	b.ReportMetric(big/none, "ratio")
}
