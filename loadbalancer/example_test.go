package loadbalancer_test

import (
	"encoding/json"
	"fmt"

	"github.com/neutrino-net/neutrino/loadbalancer"
)

// A load balancer is described with Octavia's objects; a member outside
// the VIP network's subnets is refused naming its field, before anything
// is realized.
func ExampleDesired_Validate() {
	doc := `{
	 "subnets": [{"id": "sub1", "network_id": "net1", "ip_version": 4, "cidr": "100.64.1.0/24", "gateway_ip": "100.64.1.1"}],
	 "ports": [{"id": "vip1", "network_id": "net1", "mac_address": "fa:16:3e:00:00:10", "device_owner": "Octavia",
	            "fixed_ips": [{"subnet_id": "sub1", "ip_address": "100.64.1.10"}]}],
	 "loadbalancers": [{"id": "lb1", "vip_port_id": "vip1"}],
	 "listeners": [{"id": "web", "loadbalancer_id": "lb1", "protocol": "TCP", "protocol_port": 80, "default_pool_id": "p1"}],
	 "pools": [{"id": "p1", "loadbalancer_id": "lb1", "protocol": "TCP", "lb_algorithm": "ROUND_ROBIN"}],
	 "members": [{"id": "m1", "pool_id": "p1", "address": "100.64.1.21", "protocol_port": 8080, "weight": 3},
	             {"id": "m2", "pool_id": "p1", "address": "198.51.100.7", "protocol_port": 8080}]
	}`
	var d loadbalancer.Desired
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		panic(err)
	}
	fmt.Println(d.Validate())
	// Output: members[1].address: 198.51.100.7 is outside every subnet of the pool's network net1 (member m2)
}
