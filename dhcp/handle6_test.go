package dhcp

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/neutrino-net/neutrino/port"
)

var clientPeer = netip.MustParseAddrPort("[fe80::1234]:546")

func solicit(t *testing.T, mac port.MAC, mods ...dhcpv6.Modifier) *dhcpv6.Message {
	t.Helper()
	m, err := dhcpv6.NewSolicit(mac.HardwareAddr(), mods...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func reply6Of(t *testing.T, c *Config, msg dhcpv6.DHCPv6, peer netip.AddrPort) *dhcpv6.Message {
	t.Helper()
	r := c.handle6(msg, peer, quiet)
	if r == nil {
		t.Fatal("no reply")
	}
	if r.dst != peer {
		t.Errorf("reply to %v, want %v", r.dst, peer)
	}
	parsed, err := dhcpv6.FromBytes(r.msg.ToBytes())
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	m, err := parsed.GetInnerMessage()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func iaAddrs(m *dhcpv6.Message) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, ia := range m.Options.IANA() {
		for _, a := range ia.Options.Addresses() {
			out[a.IPv6Addr.String()] = a.ValidLifetime
		}
	}
	return out
}

func TestDHCPv6StatefulAndStateless(t *testing.T) {
	c := mustConfig(t, testInput(), Settings{})
	sol := solicit(t, vm1MAC)
	adv := reply6Of(t, c, sol, clientPeer)
	if adv.Type() != dhcpv6.MessageTypeAdvertise {
		t.Fatalf("got %s", adv.Type())
	}
	if got := iaAddrs(adv); len(got) != 1 || got["2001:db8:10::10"] != 86400*time.Second {
		t.Errorf("addresses %v", got)
	}
	if ia := adv.Options.OneIANA(); ia.T1 != 43200*time.Second || ia.T2 != 75600*time.Second {
		t.Errorf("T1 %v T2 %v", ia.T1, ia.T2)
	}
	if dns := adv.Options.DNS(); len(dns) != 2 || !dns[0].Equal(net.ParseIP("2001:db8::53")) || !dns[1].Equal(net.ParseIP("2001:db8::54")) {
		t.Errorf("dns %v", dns)
	}
	if l := adv.Options.DomainSearchList(); l == nil || len(l.Labels) != 1 || l.Labels[0] != "openstacklocal" {
		t.Errorf("domain search %v", l)
	}

	req, err := dhcpv6.NewRequestFromAdvertise(adv)
	if err != nil {
		t.Fatal(err)
	}
	if rep := reply6Of(t, c, req, clientPeer); rep.Type() != dhcpv6.MessageTypeReply || len(iaAddrs(rep)) != 1 {
		t.Errorf("request: %s %v", rep.Type(), iaAddrs(rep))
	}
	other := *req
	other.Options = dhcpv6.MessageOptions{Options: append(dhcpv6.Options(nil), req.Options.Options...)}
	other.Options.Update(dhcpv6.OptServerID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: net.HardwareAddr{2, 0, 0, 0, 0, 9}}))
	if r := c.handle6(&other, clientPeer, quiet); r != nil {
		t.Error("answered a request for another server")
	}

	rc := solicit(t, vm1MAC, dhcpv6.WithRapidCommit)
	rep := reply6Of(t, c, rc, clientPeer)
	if rep.Type() != dhcpv6.MessageTypeReply || rep.GetOneOption(dhcpv6.OptionRapidCommit) == nil || len(iaAddrs(rep)) != 1 {
		t.Errorf("rapid commit: %s", rep.Summary())
	}

	// vm2 has no stateful address: NoAddrsAvail, but stateless options answer.
	adv = reply6Of(t, c, solicit(t, vm2MAC), clientPeer)
	if ia := adv.Options.OneIANA(); ia == nil || ia.Options.Status() == nil || ia.Options.Status().StatusCode != iana.StatusNoAddrsAvail {
		t.Errorf("no reservation: %s", adv.Summary())
	}
	ir, err := dhcpv6.NewMessage(dhcpv6.WithClientID(&dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: vm2MAC.HardwareAddr()}))
	if err != nil {
		t.Fatal(err)
	}
	ir.MessageType = dhcpv6.MessageTypeInformationRequest
	rep = reply6Of(t, c, ir, clientPeer)
	if dns := rep.Options.DNS(); rep.Type() != dhcpv6.MessageTypeReply || len(dns) != 1 || !dns[0].Equal(net.ParseIP("2001:db8::54")) || len(rep.Options.IANA()) != 0 {
		t.Errorf("information-request: %s", rep.Summary())
	}
}

func TestDHCPv6RenewAfterAddressChange(t *testing.T) {
	c := mustConfig(t, testInput(), Settings{})
	adv := reply6Of(t, c, solicit(t, vm1MAC), clientPeer)
	in := testInput()
	in.Ports[2].FixedIPs[1].IPAddress = addr("2001:db8:10::20")
	c = mustConfig(t, in, Settings{})
	renew, err := dhcpv6.NewRequestFromAdvertise(adv)
	if err != nil {
		t.Fatal(err)
	}
	renew.MessageType = dhcpv6.MessageTypeRenew
	got := iaAddrs(reply6Of(t, c, renew, clientPeer))
	if got["2001:db8:10::20"] != 86400*time.Second || got["2001:db8:10::10"] != 0 || len(got) != 2 {
		t.Errorf("renew after change: %v", got)
	}
}

func TestDHCPv6ClientIdentification(t *testing.T) {
	c := mustConfig(t, testInput(), Settings{})
	en := &dhcpv6.DUIDEN{EnterpriseNumber: 32473, EnterpriseIdentifier: []byte{1, 2, 3}}
	sol := solicit(t, vm1MAC, dhcpv6.WithClientID(en))
	if r := c.handle6(sol, clientPeer, quiet); r != nil {
		t.Error("a DUID-EN client from a non-EUI-64 address was identified")
	}
	// EUI-64 link-local of fa:16:3e:00:00:01.
	eui := netip.MustParseAddrPort("[fe80::f816:3eff:fe00:1]:546")
	if adv := reply6Of(t, c, sol, eui); len(iaAddrs(adv)) != 1 {
		t.Errorf("EUI-64: %s", adv.Summary())
	}
	// Relayed, with the client link-layer address option (RFC 6939).
	relay, err := dhcpv6.EncapsulateRelay(sol, dhcpv6.MessageTypeRelayForward, net.ParseIP("2001:db8:10::fe"), net.ParseIP("fe80::99"))
	if err != nil {
		t.Fatal(err)
	}
	relay.AddOption(dhcpv6.OptClientLinkLayerAddress(iana.HWTypeEthernet, vm1MAC.HardwareAddr()))
	relayPeer := netip.MustParseAddrPort("[2001:db8:10::fe]:547")
	r := c.handle6(relay, relayPeer, quiet)
	if r == nil || r.dst != relayPeer || r.msg.Type() != dhcpv6.MessageTypeRelayReply {
		t.Fatalf("relayed: %+v", r)
	}
	inner, _ := r.msg.(*dhcpv6.RelayMessage).GetInnerMessage()
	if len(iaAddrs(inner)) != 1 {
		t.Errorf("relayed advertise: %s", inner.Summary())
	}
	// A relay on a link without the client's stateful subnet gives no address.
	relay.LinkAddr = net.ParseIP("2001:db8:99::1")
	r = c.handle6(relay, relayPeer, quiet)
	inner, _ = r.msg.(*dhcpv6.RelayMessage).GetInnerMessage()
	if len(iaAddrs(inner)) != 0 {
		t.Errorf("address offered on a foreign link: %s", inner.Summary())
	}
	if r := c.handle6(solicit(t, port.MustParseMAC("fa:16:3e:99:99:99")), clientPeer, quiet); r != nil {
		t.Error("unknown client answered")
	}
}
