package firewall_test

import (
	"encoding/json"
	"fmt"

	"github.com/neutrino-net/neutrino/firewall"
)

// A firewall document in Neutron's JSON, checked before anything is
// realized: the error names the field.
func ExampleDesired_Validate() {
	doc := `{
	  "firewall_rules": [
	    {"id": "ssh", "protocol": "tcp", "destination_port": "22", "action": "allow"},
	    {"id": "web", "protocol": "tcp", "destination_port": "443:80", "action": "allow"}],
	  "firewall_policies": [{"id": "in", "firewall_rules": ["ssh", "web"]}],
	  "firewall_groups": [{"id": "edge", "ports": ["qr1"], "ingress_firewall_policy_id": "in"}],
	  "ports": [{"id": "qr1", "network_id": "n1", "device_owner": "network:router_interface", "device_id": "r1"}]
	}`
	var d firewall.Desired
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		panic(err)
	}
	fmt.Println(d.Validate())
	// Output: firewall_rules[1].destination_port: port range "443:80" runs backwards: 443 > 80
}
