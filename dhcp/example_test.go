package dhcp_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/netip"
	"os"

	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// A network with one subnet, its DHCP port and an instance: the Config says
// what the server will do, without touching the kernel.
func ExampleBuildConfig() {
	net := network.Network{ID: "6f1c0c3e-1d5a-4a58-9d8f-3c4f6a2b7e01", MTU: 1450}
	sub := subnet.Subnet{ID: "sub-a", NetworkID: net.ID, IPVersion: 4,
		CIDR: netip.MustParsePrefix("192.0.2.0/24"), GatewayIP: netip.MustParseAddr("192.0.2.1")}
	ports := []port.Port{
		{ID: "dhcp-port", NetworkID: net.ID, DeviceOwner: port.OwnerDHCP, MACAddress: port.MustParseMAC("fa:16:3e:00:00:02"),
			FixedIPs: []port.FixedIP{{SubnetID: sub.ID, IPAddress: netip.MustParseAddr("192.0.2.2")}}},
		{ID: "vm-port", NetworkID: net.ID, DeviceOwner: "compute:nova", MACAddress: port.MustParseMAC("fa:16:3e:00:00:10"),
			FixedIPs:      []port.FixedIP{{SubnetID: sub.ID, IPAddress: netip.MustParseAddr("192.0.2.10")}},
			ExtraDHCPOpts: []port.ExtraDHCPOpt{{OptName: "ntp-server", OptValue: "192.0.2.123"}}},
	}
	cfg, err := dhcp.BuildConfig(dhcp.Input{Network: net, Subnets: []subnet.Subnet{sub}, Ports: ports, DHCPPortID: "dhcp-port"}, dhcp.Settings{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Interface, cfg.Addresses, cfg.Gateways, cfg.Reservations(), cfg.HasV4(), cfg.HasV6())
	// Output: ns-dhcp-port [192.0.2.2/24] [192.0.2.1] 1 true false
}

// An agent serves DHCP for the networks whose DHCP port is bound to it.
// The network realizer must have created the networks' bridges first.
func ExampleNewRealizer() {
	node, err := namespace.Current()
	if err != nil {
		log.Fatal(err)
	}
	r, err := dhcp.NewRealizer(node, dhcp.WithHost("node1"),
		dhcp.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()          // stops the servers; namespaces and devices stay for the next agent
	var desired dhcp.Desired // the node's slice of the topology: networks, subnets, ports
	rep, err := r.Apply(context.Background(), desired)
	if err != nil {
		log.Print(err) // per-network errors; the other networks are served
	}
	fmt.Println(rep)
}
