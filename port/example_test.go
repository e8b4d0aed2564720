package port_test

import (
	"context"
	"log"
	"net/netip"

	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// An agent on node1 plugs the instance ports bound to it: networks first
// (bridges, VXLAN devices and l2population), then ports. Both Applies are
// safe to repeat; the second of the same state changes nothing.
func Example() {
	host, err := namespace.Current()
	if err != nil {
		log.Fatal(err)
	}
	defer host.Close()
	networks, err := network.NewRealizer(host, network.WithPhysicalInterfaceMappings(map[string]string{"physnet1": "eth1"}))
	if err != nil {
		log.Fatal(err)
	}
	ports, err := port.NewRealizer(host)
	if err != nil {
		log.Fatal(err)
	}

	tunnelIPs := map[string]netip.Addr{"node1": netip.MustParseAddr("198.18.0.1"), "node2": netip.MustParseAddr("198.18.0.2")}
	var (
		nets  []network.Network // from the topology document
		subs  []subnet.Subnet
		plist []port.Port
	)
	nd, pd := port.L2ForHost("node1", tunnelIPs, nets, subs, plist)
	ctx := context.Background()
	if rep, err := networks.Apply(ctx, nd); err != nil {
		log.Printf("networks: %v (done: %v)", err, rep.Changes)
	}
	if rep, err := ports.Apply(ctx, pd); err != nil {
		log.Printf("ports: %v (done: %v)", err, rep.Changes)
	}
}
