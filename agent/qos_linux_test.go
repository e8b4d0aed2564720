package agent

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/qos"
)

// echoTOS matches tcpdump -v's two lines for an echo request: the IP
// header's TOS byte, then source and destination.
var echoTOS = regexp.MustCompile(`tos (0x[0-9a-f]+).*\n\s*(\S+) > (\S+): ICMP echo request`)

// A DSCP marking rule on vm1's port marks vm1's packets as they reach the
// router, and only them: vm2, on the same network without a policy,
// arrives with DSCP 0. The capture runs in the router's namespace on its
// interface to tenant1, so the marks are what the router routes.
func TestDSCPMarkSeenAtTheRouterForMarkedPortOnly(t *testing.T) {
	lab.RequireCmd(t, "tcpdump", "ping")
	f := newFixture(t)
	const mark = 26 // AF31: TOS byte 0x68
	f.topo.QoSPolicies = []qos.Policy{{ID: "dscp26", DSCPMarkingRules: []qos.DSCPMarkingRule{{DSCPMark: mark}}}}
	var ifPort string
	for i := range f.topo.Ports {
		p := &f.topo.Ports[i]
		switch {
		case p.Name == "vm1":
			p.QoSPolicyID = "dscp26"
		case p.Name == "router1-if1":
			ifPort = p.ID
		}
	}
	if ifPort == "" {
		t.Fatal("all-in-one.json has no router1-if1 port")
	}
	rep := f.apply(t)
	if got := stepNames(rep); !strings.Contains(strings.Join(got, " "), "port qos router") {
		t.Fatalf("steps %v: qos must run after port, before router", got)
	}
	rns, err := namespace.NewManager(f.l.NodePrefix("node1")).Open(naming.RouterNamespace(f.topo.Routers[0].ID))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rns.Close() })

	// Four echo requests (two per instance) end the capture; the timeout
	// bounds it if some never arrive.
	cmd, out := f.l.Start(rns, "timeout", "30", "tcpdump", "-l", "-n", "-v", "-c", "4",
		"-i", naming.RouterInterface(ifPort), "icmp[icmptype] == icmp-echo and dst host 203.0.113.254")
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(out.String(), "listening on"); {
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump did not start:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Only the requests matter: upstream has no route back to 10.0.1.0/24.
	for _, vm := range []string{"vm1", "vm2"} {
		_, _ = f.l.Run(f.vms[vm], 10*time.Second, "ping", "-c2", "-i0.2", "-W1", "203.0.113.254")
	}
	_ = cmd.Wait()

	got := map[string][]string{}
	for _, m := range echoTOS.FindAllStringSubmatch(out.String(), -1) {
		got[m[2]] = append(got[m[2]], m[1])
	}
	want := map[string]string{"10.0.1.11": "0x68", "10.0.1.12": "0x0"}
	for src, tos := range want {
		if len(got[src]) == 0 {
			t.Errorf("no echo request from %s captured at the router:\n%s", src, out)
		}
		for _, g := range got[src] {
			if g != tos {
				t.Errorf("echo request from %s crossed the router with TOS %s, want %s (DSCP %d for vm1's policy, 0 without)", src, g, tos, map[string]int{"0x68": mark, "0x0": 0}[tos])
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("captured sources %v, want only %v:\n%s", got, want, out)
	}
}
