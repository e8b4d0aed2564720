package neutrino

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// lbDoc is a document with one network, an instance on node2 and a load
// balancer whose VIP port is bound to node1.
const lbDoc = `{
 "networks": [{"id": "net1", "mtu": 1450, "provider:network_type": "local"}],
 "subnets": [{"id": "sub1", "network_id": "net1", "ip_version": 4, "cidr": "100.64.1.0/24", "gateway_ip": "100.64.1.1", "allocation_pools": []}],
 "ports": [
  {"id": "vip1", "network_id": "net1", "mac_address": "fa:16:3e:00:00:10", "device_owner": "Octavia", "binding:host_id": "node1",
   "fixed_ips": [{"subnet_id": "sub1", "ip_address": "100.64.1.10"}]},
  {"id": "vm1", "network_id": "net1", "mac_address": "fa:16:3e:00:00:21", "device_owner": "compute:nova", "binding:host_id": "node2",
   "fixed_ips": [{"subnet_id": "sub1", "ip_address": "100.64.1.21"}]}
 ],
 "loadbalancers": [{"id": "lb1", "vip_port_id": "vip1", "vip_subnet_id": "sub1"}],
 "listeners": [{"id": "l1", "loadbalancer_id": "lb1", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "p1"}],
 "pools": [{"id": "p1", "loadbalancer_id": "lb1", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}],
 "members": [{"id": "m1", "pool_id": "p1", "address": "100.64.1.21", "protocol_port": 8000}],
 "healthmonitors": [{"id": "h1", "pool_id": "p1", "type": "TCP", "delay": 1, "timeout": 1, "max_retries": 1}]
}`

func lbTopology(t *testing.T) *Topology {
	t.Helper()
	var topo Topology
	if err := json.Unmarshal([]byte(lbDoc), &topo); err != nil {
		t.Fatal(err)
	}
	return &topo
}

func TestTopologyCarriesOctaviaCollections(t *testing.T) {
	topo := lbTopology(t)
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(topo.LoadBalancers) != 1 || len(topo.Members) != 1 || len(topo.HealthMonitors) != 1 {
		t.Fatalf("collections not decoded: %+v", topo.Collections)
	}
	b, err := json.Marshal(topo)
	if err != nil || !strings.Contains(string(b), `"loadbalancers":[{"id":"lb1"`) {
		t.Fatalf("not encoded under Octavia's names: %s %v", b, err)
	}
}

func TestTopologyValidateNamesLoadBalancerFields(t *testing.T) {
	topo := lbTopology(t)
	topo.Members[0].PoolID = "nope"
	topo.Listeners = append(topo.Listeners, topo.Listeners[0])
	topo.Listeners[1].ID = "l2"
	err := topo.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"members[0].pool_id: pool nope does not exist (member m1)",
		"listeners[1].protocol_port: tcp port 80 is already taken by listener l1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrConflict) {
		t.Errorf("sentinels missing: %v", err)
	}
}

func TestForHostSchedulesLoadBalancerByVIPBinding(t *testing.T) {
	topo := lbTopology(t)
	on1, err := topo.ForHost("node1")
	if err != nil {
		t.Fatal(err)
	}
	if len(on1.LoadBalancers) != 1 || len(on1.Listeners) != 1 || len(on1.Pools) != 1 || len(on1.Members) != 1 || len(on1.HealthMonitors) != 1 {
		t.Fatalf("node1 slice: %+v", on1.Collections)
	}
	if err := on1.Validate(); err != nil {
		t.Fatalf("node1's slice is not valid on its own: %v", err)
	}
	again, err := on1.ForHost("node1")
	if err != nil || len(again.LoadBalancers) != 1 || len(again.Members) != 1 {
		t.Fatalf("slicing the slice changed it: %+v %v", again.Collections, err)
	}
	on2, err := topo.ForHost("node2")
	if err != nil {
		t.Fatal(err)
	}
	if len(on2.LoadBalancers)+len(on2.Listeners)+len(on2.Pools)+len(on2.Members) != 0 {
		t.Fatalf("node2 got load balancing objects: %+v", on2.Collections)
	}
}
