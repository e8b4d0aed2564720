package main

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/firewall"
	"github.com/neutrino-net/neutrino/secgroup"
)

// TestFlowRecordMetricCountsVerdicts runs the agent with a security group
// log on vm1's port and reads the flow-record counter by verdict after a
// ping its group allows (one accepted flow) and a connection it does not
// (a dropped SYN).
func TestFlowRecordMetricCountsVerdicts(t *testing.T) {
	w := newWorld(t)
	w.b.Logs = []firewall.Log{{ID: "log-vm1", ResourceType: secgroup.ResourceSecurityGroup, TargetID: id(kPort, vm1Port)}}
	w.b.write(t, w.file)
	n := w.n
	p := n.start(t, "run", w.file, append(worldFlags, "--resync-interval", "1s")...)
	m := waitApplied(t, n, p, 1)
	const accepted, dropped = `neutrino_flow_records_total{realizer="secgroup",verdict="ACCEPT"}`, `neutrino_flow_records_total{realizer="secgroup",verdict="DROP"}`
	if v, ok := m[dropped]; !ok || v != 0 {
		t.Fatalf("%s = %v (present %v) before any traffic", dropped, v, ok)
	}

	// The floating IP leads to vm1, whose group allows ICMP in, and TCP
	// only to port 22 from 198.51.100.0/24.
	fip := w.b.FloatingIPs[0].FloatingIPAddress
	if err := w.ping(w.up, fip.String()); err != nil {
		t.Fatal(err)
	}
	if err := w.up.Do(func() error {
		c, err := (&net.Dialer{Timeout: 500 * time.Millisecond}).Dial("tcp", netip.AddrPortFrom(fip, 80).String())
		if err == nil {
			c.Close()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := eventually(10*time.Second, func() bool {
		m, _ = scrape(n.h)
		return m[accepted] >= 1 && m[dropped] >= 1
	}); !ok {
		t.Errorf("%s = %v, %s = %v after an allowed ping and a denied connection\n%s", accepted, m[accepted], dropped, m[dropped], p.log.String())
	}
	if !strings.Contains(p.log.String(), "security group flow") {
		t.Errorf("no flow line in the agent's log:\n%s", p.log.String())
	}
}
