package neutrino_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/neutrino-net/neutrino"
)

// Load a topology, validate it, and take the slice one node realizes.
func Example() {
	topo, err := neutrino.LoadFile("examples/topologies/two-node-vxlan.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := topo.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	slice, err := topo.ForHost("node2")
	if err != nil {
		fmt.Println(err)
		return
	}
	x := slice.Index()
	fmt.Println("networks:", len(slice.Networks))
	fmt.Println("ports in the slice:", len(slice.Ports))
	for _, p := range x.PortsBoundTo("node2") {
		fmt.Println("plug", p.Name, p.FixedIPs[0].IPAddress)
	}
	fmt.Println("serves DHCP:", len(x.DHCPNetworksOn("node2")) > 0)
	// Output:
	// networks: 1
	// ports in the slice: 4
	// plug 2n-vm2 10.0.10.12
	// plug 2n-vm3 10.0.10.13
	// serves DHCP: false
}

// Validation names the field, the object and the kind of problem.
func ExampleTopology_Validate() {
	doc := `{
	  "networks": [{"id": "net1", "provider:network_type": "vxlan", "provider:segmentation_id": 101}],
	  "subnets":  [{"id": "sub1", "network_id": "net1", "ip_version": 4, "cidr": "10.0.0.0/24",
	                "gateway_ip": "10.0.0.1", "allocation_pools": [{"start": "10.0.0.1", "end": "10.0.0.20"}]}],
	  "ports":    [{"id": "port1", "network_id": "net9", "mac_address": "fa:16:3e:00:00:01"}]
	}`
	topo, err := neutrino.Load(strings.NewReader(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	err = topo.Validate()
	fmt.Println(err)
	fmt.Println(errors.Is(err, neutrino.ErrConflict), errors.Is(err, neutrino.ErrNotFound))
	// Output:
	// subnets[0].gateway_ip: 10.0.0.1 is inside allocation_pools[0] 10.0.0.1-10.0.0.20 (subnet sub1)
	// ports[0].network_id: network net9 does not exist (port port1)
	// true true
}

// Defaults fills in what Neutron would, explicitly. A network without
// provider attributes gets the tenant network type (vxlan by default), but
// never an invented VNI: Neutron allocates those.
func ExampleTopology_Defaults() {
	topo, _ := neutrino.Load(strings.NewReader(`{
	  "networks": [{"id": "net1", "provider:segmentation_id": 101}],
	  "subnets":  [{"id": "sub1", "network_id": "net1", "cidr": "10.0.0.0/24"}]
	}`))
	fmt.Println(topo.Validate() != nil)
	topo.Defaults()
	n, s := topo.Networks[0], topo.Subnets[0]
	fmt.Println(n.NetworkType, n.MTU, s.IPVersion, s.GatewayIP, s.AllocationPools)
	fmt.Println(topo.Validate())
	// Output:
	// true
	// vxlan 1450 4 10.0.0.1 [10.0.0.2-10.0.0.254]
	// <nil>
}
