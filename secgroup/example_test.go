package secgroup_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"

	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/secgroup"
)

// A web server port in a group that lets anyone reach port 443 and members
// of the project's default group reach everything.
func Example() {
	host, err := namespace.Current() // the node's own namespace
	if err != nil {
		log.Fatal(err)
	}
	defer host.Close()
	web := secgroup.SecurityGroup{ID: "web", Rules: []secgroup.Rule{
		{ID: "https", Direction: secgroup.Ingress, Ethertype: secgroup.IPv4, Protocol: "tcp",
			PortRangeMin: ptr(443), PortRangeMax: ptr(443), RemoteIPPrefix: netip.MustParsePrefix("0.0.0.0/0")},
		{ID: "out", Direction: secgroup.Egress, Ethertype: secgroup.IPv4},
	}}
	r, err := secgroup.NewRealizer(host)
	if err != nil {
		log.Fatal(err)
	}
	report, err := r.Apply(context.Background(), secgroup.Desired{
		Groups: []secgroup.SecurityGroup{web, secgroup.DefaultGroup("default")},
		Ports: []port.Port{{
			ID: "6a7c1e0f-2b9d-4c3e-8f10-2a3b4c5d6e7f", NetworkID: "net-1", DeviceOwner: "compute:nova",
			MACAddress:     port.MustParseMAC("fa:16:3e:12:34:56"),
			FixedIPs:       []port.FixedIP{{IPAddress: netip.MustParseAddr("198.51.100.10")}},
			SecurityGroups: []string{"web", "default"},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(report)
}

func ptr(v int) *int { return &v }
