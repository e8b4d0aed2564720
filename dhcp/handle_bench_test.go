package dhcp

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

const (
	benchNet     = "be000000-0000-4000-8000-0000000000b1"
	benchSubnet  = "be000004-0000-4000-8000-0000000000b4"
	benchDHCP    = "bd000000-0000-4000-8000-0000000000d1"
	benchClients = 5000
)

// benchInput is one /16 subnet with a DHCP port and 5000 instance ports.
func benchInput() (Input, []port.MAC) {
	in := Input{
		Network: network.Network{ID: benchNet, MTU: 1450},
		Subnets: []subnet.Subnet{{ID: benchSubnet, NetworkID: benchNet, IPVersion: 4, CIDR: pfx("100.80.0.0/16"),
			GatewayIP: addr("100.80.0.1"), DNSNameservers: []netip.Addr{addr("198.51.100.53")}}},
		Ports: []port.Port{{ID: benchDHCP, NetworkID: benchNet, MACAddress: port.MustParseMAC("fa:16:3e:ff:00:d1"),
			DeviceOwner: port.OwnerDHCP, FixedIPs: []port.FixedIP{{SubnetID: benchSubnet, IPAddress: addr("100.80.0.2")}}}},
		DHCPPortID: benchDHCP,
	}
	var macs []port.MAC
	for i := range benchClients {
		mac := port.MAC{0xfa, 0x16, 0x3e, 0x10, byte(i >> 8), byte(i)}
		ip := netip.AddrFrom4([4]byte{100, 80, byte(1 + i/200), byte(10 + i%200)})
		macs = append(macs, mac)
		in.Ports = append(in.Ports, port.Port{ID: fmt.Sprintf("bc000000-0000-4000-8000-%012d", i), NetworkID: benchNet,
			MACAddress: mac, DeviceOwner: "compute:nova", FixedIPs: []port.FixedIP{{SubnetID: benchSubnet, IPAddress: ip}}})
	}
	return in, macs
}

// BenchmarkHandle4 is the in-process cost of one relayed DISCOVER: parse,
// decide, encode, with 5000 reservations.
func BenchmarkHandle4(b *testing.B) {
	in, macs := benchInput()
	c := mustConfig(b, in, Settings{})
	var pkts [][]byte
	for _, m := range macs[:256] {
		d, err := dhcpv4.NewDiscovery(m.HardwareAddr(), dhcpv4.WithGatewayIP(net.ParseIP("100.80.255.250")))
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, d.ToBytes())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req, err := dhcpv4.FromBytes(pkts[i%len(pkts)])
		if err != nil {
			b.Fatal(err)
		}
		r := c.handle4(req, quiet)
		if r == nil {
			b.Fatal("no reply")
		}
		_ = r.pkt
	}
}
