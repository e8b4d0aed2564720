package agent

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/loadbalancer"
	"github.com/neutrino-net/neutrino/namespace"
)

// lbObjects adds to the all-in-one example a load balancer on net1 whose
// VIP port is in the default group (so the members, in that group too,
// accept its masqueraded connections) and in a group admitting port 80
// from anywhere, with a floating IP; vm1 and vm2 are its members.
const lbObjects = `{
 "security_groups": [{"id": "lbvip-sg", "security_group_rules": [
   {"id": "lbvip-80", "direction": "ingress", "ethertype": "IPv4", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80, "remote_ip_prefix": "0.0.0.0/0"}]}],
 "ports": [{"id": "5b1f0a7e-0000-4000-8000-00000000b1a5", "network_id": "0c1c39af-e6b3-5c48-86f2-1c2206c1e88b",
   "mac_address": "fa:16:3e:0b:1a:05", "device_owner": "Octavia", "device_id": "lb1", "binding:host_id": "node1",
   "fixed_ips": [{"subnet_id": "c12d7d19-04c2-5210-a844-bcdeb44718e9", "ip_address": "10.0.1.100"}],
   "security_groups": ["7f0159d4-516f-5ea1-ba32-2a67b462434c", "lbvip-sg"]}],
 "floatingips": [{"id": "lb-fip", "floating_ip_address": "203.0.113.51", "floating_network_id": "76a05d29-5d95-5fd1-844e-0ffbf1426c0a",
   "port_id": "5b1f0a7e-0000-4000-8000-00000000b1a5", "fixed_ip_address": "10.0.1.100", "router_id": "a64d1a3a-a1a2-521e-9681-b49f93a7741a"}],
 "loadbalancers": [{"id": "lb1", "vip_port_id": "5b1f0a7e-0000-4000-8000-00000000b1a5"}],
 "listeners": [{"id": "lb1-80", "loadbalancer_id": "lb1", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "lb1-pool"}],
 "pools": [{"id": "lb1-pool", "loadbalancer_id": "lb1", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}],
 "members": [
   {"id": "lb1-vm1", "pool_id": "lb1-pool", "address": "10.0.1.11", "protocol_port": 8000},
   {"id": "lb1-vm2", "pool_id": "lb1-pool", "address": "10.0.1.12", "protocol_port": 8000}],
 "healthmonitors": [{"id": "lb1-hm", "pool_id": "lb1-pool", "type": "TCP", "delay": 1, "timeout": 1, "max_retries": 1}]
}`

func greeter(t *testing.T, h *namespace.Handle, name string) {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) { ln, err = net.Listen("tcp", ":8000"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, name+"\n")
			_ = c.Close()
		}
	}()
}

func greet(t *testing.T, from *namespace.Handle, addr string) string {
	t.Helper()
	var c net.Conn
	if err := from.Do(func() (err error) { c, err = net.DialTimeout("tcp", addr, 3*time.Second); return err }); err != nil {
		t.Fatalf("connect %s from %s: %v", addr, from.Name(), err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read from %s: %v", addr, err)
	}
	return strings.TrimSpace(line)
}

// TestLoadBalancerEndToEnd: the node agent realizes a load balancer from
// the document next to the router, DHCP and security groups: upstream,
// reaching the VIP both on its fixed IP through the router (10.0.1.0/24
// shares the external network's address scope, so it is routed without
// NAT, given the route BGP would give) and through a floating IP on the
// VIP, is balanced over vm1 and vm2, with the VIP port's security groups
// enforced; Destroy removes it with the rest.
func TestLoadBalancerEndToEnd(t *testing.T) {
	f := newFixture(t)
	// The document plus lbObjects, collection by collection.
	var add map[string]json.RawMessage
	if err := json.Unmarshal([]byte(lbObjects), &add); err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(f.topo)
	if err != nil {
		t.Fatal(err)
	}
	var merged map[string][]json.RawMessage
	if err := json.Unmarshal(doc, &merged); err != nil {
		t.Fatal(err)
	}
	for k, v := range add {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			t.Fatal(err)
		}
		merged[k] = append(merged[k], items...)
	}
	doc, _ = json.Marshal(merged)
	if err := json.Unmarshal(doc, f.topo); err != nil {
		t.Fatal(err)
	}
	greeter(t, f.vms["vm1"], "vm1")
	greeter(t, f.vms["vm2"], "vm2")
	f.apply(t)
	if rep := f.apply(t); rep.Mutations() != 0 {
		t.Fatalf("second apply: %s", rep)
	}
	f.l.Route(f.up, "10.0.1.0/24", "203.0.113.10")
	for _, c := range []struct {
		from *namespace.Handle
		addr string
	}{{f.up, "10.0.1.100:80"}, {f.up, "203.0.113.51:80"}} {
		got := map[string]int{}
		for range 10 {
			got[greet(t, c.from, c.addr)]++
		}
		if got["vm1"] != 5 || got["vm2"] != 5 {
			t.Errorf("from %s to %s: %v", c.from.Name(), c.addr, got)
		}
	}
	st := f.node.LoadBalancerStatus()["lb1"]
	if st.ProvisioningStatus != loadbalancer.Active {
		t.Errorf("status %+v", st)
	}
	if _, err := f.node.Destroy(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left := f.owned(t); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}
