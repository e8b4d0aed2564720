package dhcp

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// debugLog logs everything to nowhere, so fuzzing also runs the logging of
// every decision.
var debugLog = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))

// FuzzHandle4 feeds arbitrary datagrams through what a DHCPv4 reader does
// with them: parse, decide, encode.
func FuzzHandle4(f *testing.F) {
	c := mustConfig(f, testInput(), Settings{})
	for _, mods := range [][]dhcpv4.Modifier{
		nil,
		{dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("100.64.10.10")))},
		{dhcpv4.WithGatewayIP(net.ParseIP("100.64.10.250")), dhcpv4.WithOption(dhcpv4.OptMaxMessageSize(1500))},
		{dhcpv4.WithMessageType(dhcpv4.MessageTypeInform), dhcpv4.WithClientIP(net.ParseIP("100.64.10.11")), dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(opt4IPXE), nil))},
	} {
		for _, mac := range []net.HardwareAddr{vm1MAC.HardwareAddr(), vm2MAC.HardwareAddr()} {
			m, err := dhcpv4.NewDiscovery(mac, mods...)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(m.ToBytes())
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := dhcpv4.FromBytes(b)
		if err != nil {
			return
		}
		if r := c.handle4(req, debugLog); r != nil {
			out := r.pkt
			if _, err := dhcpv4.FromBytes(out); err != nil {
				t.Fatalf("our reply does not parse: %v", err)
			}
		}
	})
}

// FuzzHandle6 does the same for DHCPv6, relayed messages included.
func FuzzHandle6(f *testing.F) {
	c := mustConfig(f, testInput(), Settings{})
	sol, err := dhcpv6.NewSolicit(vm1MAC.HardwareAddr())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sol.ToBytes())
	rc, _ := dhcpv6.NewSolicit(vm1MAC.HardwareAddr(), dhcpv6.WithRapidCommit)
	f.Add(rc.ToBytes())
	relay, _ := dhcpv6.EncapsulateRelay(sol, dhcpv6.MessageTypeRelayForward, net.ParseIP("2001:db8:10::fe"), net.ParseIP("fe80::99"))
	relay.AddOption(dhcpv6.OptClientLinkLayerAddress(iana.HWTypeEthernet, vm1MAC.HardwareAddr()))
	f.Add(relay.ToBytes())
	twice, _ := dhcpv6.EncapsulateRelay(relay, dhcpv6.MessageTypeRelayForward, net.ParseIP("2001:db8:10::fd"), net.ParseIP("fe80::98"))
	f.Add(twice.ToBytes())
	peer := netip.MustParseAddrPort("[fe80::f816:3eff:fe00:1]:546")
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := dhcpv6.FromBytes(b)
		if err != nil {
			return
		}
		if r := c.handle6(msg, peer, debugLog); r != nil {
			if _, err := dhcpv6.FromBytes(r.msg.ToBytes()); err != nil {
				t.Fatalf("our reply does not parse: %v", err)
			}
		}
	})
}
