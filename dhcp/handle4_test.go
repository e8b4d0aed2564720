package dhcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

var quiet = slog.New(slog.DiscardHandler)

func discover(t *testing.T, mac port.MAC, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.NewDiscovery(mac.HardwareAddr(), mods...)
	if err != nil {
		t.Fatal(err)
	}
	m.SetUnicast()
	for _, mod := range mods {
		mod(m)
	}
	return m
}

func request(t *testing.T, mac port.MAC, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	return discover(t, mac, append([]dhcpv4.Modifier{dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest)}, mods...)...)
}

// roundTrip encodes and decodes the reply as a client would see it.
func roundTrip(t *testing.T, req *dhcpv4.DHCPv4, r *reply4) *dhcpv4.DHCPv4 {
	t.Helper()
	m, err := dhcpv4.FromBytes(r.pkt)
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	return m
}

func u32(b []byte) uint32 {
	if len(b) != 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func routes(t *testing.T, m *dhcpv4.DHCPv4) []string {
	t.Helper()
	var out []string
	for _, r := range m.ClasslessStaticRoute() {
		out = append(out, r.Dest.String()+">"+r.Router.String())
	}
	return out
}

func TestDiscoverOffersReservationWithNeutronOptions(t *testing.T) {
	c := mustConfig(t, testInput(), Settings{})
	req := discover(t, vm1MAC)
	r := c.handle4(req, quiet)
	if r == nil {
		t.Fatal("no offer")
	}
	m := roundTrip(t, req, r)
	if m.MessageType() != dhcpv4.MessageTypeOffer || !m.YourIPAddr.Equal(net.ParseIP("100.64.10.10")) {
		t.Fatalf("got %s yiaddr %s", m.MessageType(), m.YourIPAddr)
	}
	checks := map[string][2]string{
		"mask":      {m.SubnetMask().String(), "ffffff00"},
		"router":    {net.IP(m.Options.Get(dhcpv4.OptionRouter)).String(), "100.64.10.1"},
		"dns":       {strings.Join(ipsToStrings(m.DNS()), ","), "198.51.100.53,198.51.100.54"},
		"domain":    {m.DomainName(), "openstacklocal"},
		"hostname":  {m.HostName(), "host-100-64-10-10"},
		"server":    {m.ServerIdentifier().String(), "100.64.10.2"},
		"broadcast": {m.BroadcastAddress().String(), "100.64.10.255"},
		"routes":    {strings.Join(routes(t, m), " "), "198.18.0.0/16>100.64.10.254 0.0.0.0/0>100.64.10.1"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s: got %q want %q", name, c[0], c[1])
		}
	}
	if mtu := binary.BigEndian.Uint16(m.Options.Get(dhcpv4.OptionInterfaceMTU)); mtu != 1450 {
		t.Errorf("mtu %d", mtu)
	}
	if l, t1, t2 := u32(m.Options.Get(dhcpv4.OptionIPAddressLeaseTime)), u32(m.Options.Get(dhcpv4.OptionRenewTimeValue)), u32(m.Options.Get(dhcpv4.OptionRebindingTimeValue)); l != 86400 || t1 != 43200 || t2 != 75600 {
		t.Errorf("lease %d T1 %d T2 %d", l, t1, t2)
	}
	if m.Options.Has(dhcpv4.GenericOptionCode(opt4MSClassles)) {
		t.Error("option 249 sent unasked")
	}
	// No broadcast flag, no address yet: unicast to yiaddr through a neighbour entry.
	if r.dst != netip.MustParseAddrPort("100.64.10.10:68") || !r.neigh {
		t.Errorf("dst %v neigh %v", r.dst, r.neigh)
	}
}

func ipsToStrings(ips []net.IP) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

func TestReplyDestinationFollowsRFC2131(t *testing.T) {
	c := mustConfig(t, testInput(), Settings{})
	bcast := netip.MustParseAddrPort("255.255.255.255:68")
	cases := []struct {
		name  string
		req   *dhcpv4.DHCPv4
		dst   netip.AddrPort
		neigh bool
		typ   dhcpv4.MessageType
	}{
		{"broadcast flag", discover(t, vm1MAC, dhcpv4.WithBroadcast(true)), bcast, false, dhcpv4.MessageTypeOffer},
		{"selecting", request(t, vm1MAC, dhcpv4.WithRequestedOptions(), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("100.64.10.10"))),
			dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP("100.64.10.2")))), netip.MustParseAddrPort("100.64.10.10:68"), true, dhcpv4.MessageTypeAck},
		{"renewing", request(t, vm1MAC, dhcpv4.WithClientIP(net.ParseIP("100.64.10.10"))), netip.MustParseAddrPort("100.64.10.10:68"), false, dhcpv4.MessageTypeAck},
		{"wrong address", request(t, vm1MAC, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("100.64.10.99")))), bcast, false, dhcpv4.MessageTypeNak},
		{"relayed", discover(t, vm1MAC, dhcpv4.WithGatewayIP(net.ParseIP("100.64.10.250"))), netip.MustParseAddrPort("100.64.10.250:67"), false, dhcpv4.MessageTypeOffer},
		{"relayed nak", request(t, vm1MAC, dhcpv4.WithGatewayIP(net.ParseIP("100.64.10.250")), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("100.64.10.99")))),
			netip.MustParseAddrPort("100.64.10.250:67"), false, dhcpv4.MessageTypeNak},
		{"inform", discover(t, vm1MAC, dhcpv4.WithMessageType(dhcpv4.MessageTypeInform), dhcpv4.WithClientIP(net.ParseIP("100.64.10.10"))),
			netip.MustParseAddrPort("100.64.10.10:68"), false, dhcpv4.MessageTypeAck},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.handle4(tc.req, quiet)
			if r == nil {
				t.Fatal("no reply")
			}
			m := roundTrip(t, tc.req, r)
			if m.MessageType() != tc.typ || r.dst != tc.dst || r.neigh != tc.neigh {
				t.Fatalf("got %s to %v neigh=%v, want %s to %v neigh=%v", m.MessageType(), r.dst, r.neigh, tc.typ, tc.dst, tc.neigh)
			}
			switch tc.typ {
			case dhcpv4.MessageTypeNak:
				if !m.YourIPAddr.IsUnspecified() || m.ServerIdentifier().String() != "100.64.10.2" {
					t.Errorf("nak yiaddr %s sid %s", m.YourIPAddr, m.ServerIdentifier())
				}
				if tc.req.GatewayIPAddr.IsUnspecified() == m.IsBroadcast() {
					t.Errorf("a NAK through a relay must carry the broadcast flag (and only then here)")
				}
			case dhcpv4.MessageTypeAck:
				if tc.req.MessageType() == dhcpv4.MessageTypeInform {
					if m.Options.Has(dhcpv4.OptionIPAddressLeaseTime) || !m.YourIPAddr.IsUnspecified() {
						t.Errorf("inform reply carries a lease")
					}
				} else if !m.YourIPAddr.Equal(net.ParseIP("100.64.10.10")) {
					t.Errorf("ack yiaddr %s", m.YourIPAddr)
				}
			}
			if !m.GatewayIPAddr.Equal(tc.req.GatewayIPAddr) || m.TransactionID != tc.req.TransactionID {
				t.Errorf("giaddr/xid not echoed")
			}
		})
	}
}

func TestNoAnswer(t *testing.T) {
	c := mustConfig(t, testInput(), Settings{})
	cases := map[string]*dhcpv4.DHCPv4{
		"unknown mac":           discover(t, port.MustParseMAC("fa:16:3e:99:99:99")),
		"dhcp port itself":      discover(t, dhcpMAC),
		"other server chosen":   request(t, vm1MAC, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP("100.64.10.3"))), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP("100.64.10.10")))),
		"relay on other subnet": discover(t, vm1MAC, dhcpv4.WithGatewayIP(net.ParseIP("198.51.100.1"))),
		"release":               discover(t, vm1MAC, dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease), dhcpv4.WithClientIP(net.ParseIP("100.64.10.10"))),
		"decline":               discover(t, vm1MAC, dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline)),
		"bootreply":             discover(t, vm1MAC, func(d *dhcpv4.DHCPv4) { d.OpCode = dhcpv4.OpcodeBootReply }),
		"no message type":       discover(t, vm1MAC, func(d *dhcpv4.DHCPv4) { d.Options.Del(dhcpv4.OptionDHCPMessageType) }),
	}
	for name, req := range cases {
		if r := c.handle4(req, quiet); r != nil {
			t.Errorf("%s: answered %s", name, r.typ)
		}
	}
}

func TestExtraOptionsAndIPXE(t *testing.T) {
	c := mustConfig(t, testInput(), Settings{})
	req := discover(t, vm2MAC, dhcpv4.WithRequestedOptions(dhcpv4.OptionClasslessStaticRoute, dhcpv4.GenericOptionCode(opt4MSClassles)))
	m := roundTrip(t, req, c.handle4(req, quiet))
	if m.HostName() != "web-2" || string(m.Options.Get(dhcpv4.OptionBootfileName)) != "pxelinux.0" ||
		!m.ServerIPAddr.Equal(net.ParseIP("198.51.100.9")) || net.IP(m.Options.Get(dhcpv4.OptionNTPServers)).String() != "198.51.100.123" {
		t.Errorf("host %q bootfile %q siaddr %s ntp %v", m.HostName(), m.Options.Get(dhcpv4.OptionBootfileName), m.ServerIPAddr, m.Options.Get(dhcpv4.OptionNTPServers))
	}
	if !bytes.Equal(m.Options.Get(dhcpv4.GenericOptionCode(opt4MSClassles)), m.Options.Get(dhcpv4.OptionClasslessStaticRoute)) {
		t.Error("option 249 must repeat 121 when asked for")
	}
	ipxe := discover(t, vm2MAC, dhcpv4.WithOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(opt4IPXE), []byte{1})))
	m = roundTrip(t, ipxe, c.handle4(ipxe, quiet))
	if got := string(m.Options.Get(dhcpv4.OptionBootfileName)); got != "http://198.51.100.9/boot.ipxe" {
		t.Errorf("iPXE bootfile %q", got)
	}
}

// The metadata route via the router is handed out only when something
// serves metadata there (Settings.MetadataRoute), never by default: a route
// to an address nobody answers on only delays cloud-init.
func TestMetadataRouteOnlyWhenServed(t *testing.T) {
	req := discover(t, vm1MAC)
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{}, "198.18.0.0/16>100.64.10.254 0.0.0.0/0>100.64.10.1"},
		{Settings{MetadataRoute: true}, "198.18.0.0/16>100.64.10.254 169.254.169.254/32>100.64.10.1 0.0.0.0/0>100.64.10.1"},
	} {
		c := mustConfig(t, testInput(), tc.s)
		m := roundTrip(t, req, c.handle4(req, quiet))
		if got := strings.Join(routes(t, m), " "); got != tc.want {
			t.Errorf("MetadataRoute %v: routes %q, want %q", tc.s.MetadataRoute, got, tc.want)
		}
		for _, a := range c.Addresses {
			if a == pfx("169.254.169.254/32") {
				t.Errorf("MetadataRoute %v: the metadata address is on the DHCP port; only isolated metadata puts it there", tc.s.MetadataRoute)
			}
		}
	}
}

func TestIsolatedSubnetAndNoGateway(t *testing.T) {
	in := testInput()
	in.Ports = append(in.Ports[:1], in.Ports[2:]...) // no router port: the subnet is isolated
	c := mustConfig(t, in, Settings{})
	req := discover(t, vm1MAC)
	m := roundTrip(t, req, c.handle4(req, quiet))
	if got := strings.Join(routes(t, m), " "); got != "198.18.0.0/16>100.64.10.254 0.0.0.0/0>100.64.10.1" {
		t.Errorf("isolated, metadata off: routes %q", got)
	}
	c = mustConfig(t, in, Settings{IsolatedMetadata: true, LeaseTime: 600e9, DNSDomain: "example.org"})
	m = roundTrip(t, req, c.handle4(req, quiet))
	if got := strings.Join(routes(t, m), " "); got != "198.18.0.0/16>100.64.10.254 169.254.169.254/32>100.64.10.2 0.0.0.0/0>100.64.10.1" {
		t.Errorf("isolated, metadata on: routes %q", got)
	}
	if u32(m.Options.Get(dhcpv4.OptionIPAddressLeaseTime)) != 600 || m.DomainName() != "example.org" {
		t.Errorf("settings not applied")
	}
	// Both metadata addresses, the IPv6 one since the network has IPv6.
	if n := len(c.Addresses); n < 2 || c.Addresses[n-2] != pfx("169.254.169.254/32") || c.Addresses[n-1] != pfx("fe80::a9fe:a9fe/128") {
		t.Errorf("metadata addresses missing from %v", c.Addresses)
	}

	in.Subnets[0].GatewayIP, in.Subnets[0].NoGateway, in.Subnets[0].HostRoutes = netip.Addr{}, true, nil
	c = mustConfig(t, in, Settings{})
	m = roundTrip(t, req, c.handle4(req, quiet))
	if m.Options.Has(dhcpv4.OptionRouter) || m.Options.Has(dhcpv4.OptionClasslessStaticRoute) {
		t.Errorf("no gateway: router %v routes %v", m.Router(), routes(t, m))
	}
}

func TestOtherSubnetsAreOnLinkRoutesFirst(t *testing.T) {
	in := testInput()
	in.Subnets = append(in.Subnets, subnet.Subnet{ID: "s2", NetworkID: netID, IPVersion: 4, CIDR: pfx("100.64.20.0/24"), GatewayIP: addr("100.64.20.1")})
	in.Ports[0].FixedIPs = append(in.Ports[0].FixedIPs, port.FixedIP{SubnetID: "s2", IPAddress: addr("100.64.20.2")})
	c := mustConfig(t, in, Settings{})
	req := discover(t, vm1MAC)
	m := roundTrip(t, req, c.handle4(req, quiet))
	if got := routes(t, m); len(got) != 3 || got[0] != "100.64.20.0/24>0.0.0.0" || got[2] != "0.0.0.0/0>100.64.10.1" {
		t.Errorf("routes %v", got)
	}
}

func TestBadExtraOptionNamesPortAndOption(t *testing.T) {
	in := testInput()
	in.Ports[3].ExtraDHCPOpts = append(in.Ports[3].ExtraDHCPOpts, port.ExtraDHCPOpt{OptName: "no-such-option", OptValue: "1"},
		port.ExtraDHCPOpt{OptName: "mtu", OptValue: "jumbo"})
	_, err := BuildConfig(in, Settings{})
	if !errors.Is(err, errdefs.ErrInvalid) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{vm2ID, "extra_dhcp_opts[4].opt_name", "no-such-option", "extra_dhcp_opts[5].opt_value", "jumbo"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestValidationErrors(t *testing.T) {
	in := testInput()
	in.Ports[3].MACAddress = vm1MAC
	if _, err := BuildConfig(in, Settings{}); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), vm1ID) {
		t.Errorf("duplicate MAC: %v", err)
	}
	in = testInput()
	in.Ports[0].FixedIPs = in.Ports[0].FixedIPs[1:]
	if _, err := BuildConfig(in, Settings{}); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), sub4ID) {
		t.Errorf("DHCP port without an address on a DHCP subnet: %v", err)
	}
	in = testInput()
	in.DHCPPortID = "nope"
	if _, err := BuildConfig(in, Settings{}); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("missing DHCP port: %v", err)
	}
}

func TestExtraOptionEncoding(t *testing.T) {
	self := netip.MustParseAddr("192.0.2.1")
	cases := []struct {
		name, value string
		v6          bool
		want        []byte
	}{
		{"router", "0.0.0.0", false, []byte{192, 0, 2, 1}},
		{"dns-server", "198.51.100.1,198.51.100.2", false, []byte{198, 51, 100, 1, 198, 51, 100, 2}},
		{"mtu", "9000", false, []byte{0x23, 0x28}},
		{"T1", "1h", false, []byte{0, 0, 0x0e, 0x10}},
		{"domain-search", "a.example,b", false, []byte{1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 1, 'b', 0}},
		{"classless-static-route", "10.0.0.0/8,192.0.2.254", false, []byte{8, 10, 192, 0, 2, 254}},
		{"option:224", "01:02:0a", false, []byte{1, 2, 10}},
		{"224", "300", false, []byte{1, 44}},
		{"224", "198.51.100.7", false, []byte{198, 51, 100, 7}},
		{"224", "hello", false, []byte("hello")},
		{"dns-server", "2001:db8::1", true, netip.MustParseAddr("2001:db8::1").AsSlice()},
		{"rapid-commit", "", false, []byte{}},
	}
	for _, tc := range cases {
		v := 4
		if tc.v6 {
			v = 6
		}
		e, err := parseExtraOpt(port.ExtraDHCPOpt{OptName: tc.name, OptValue: tc.value, IPVersion: v})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got, err := e.encode(self)
		if err != nil || !bytes.Equal(got, tc.want) {
			t.Errorf("%s=%s: got %v %v want %v", tc.name, tc.value, got, err, tc.want)
		}
	}
	for _, bad := range []port.ExtraDHCPOpt{{OptName: "message-type"}, {OptName: "53", OptValue: "1"}, {OptName: "tag:foo,router", OptValue: "0.0.0.0"}, {OptName: "router", IPVersion: 5}} {
		if _, err := parseExtraOpt(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestOversizedReplyKeepsWhatTheClientAskedFor(t *testing.T) {
	in := testInput()
	in.Ports[2].ExtraDHCPOpts = []port.ExtraDHCPOpt{{OptName: "root-path", OptValue: strings.Repeat("r", 400)}}
	c := mustConfig(t, in, Settings{})
	req := discover(t, vm1MAC, dhcpv4.WithRequestedOptions(dhcpv4.OptionRouter))
	r := c.handle4(req, quiet)
	if len(r.pkt) > minMaxMsgSize {
		t.Fatalf("reply of %d bytes to a client accepting %d", len(r.pkt), minMaxMsgSize)
	}
	m := roundTrip(t, req, r)
	if m.Options.Has(dhcpv4.OptionRootPath) || len(m.Router()) != 1 || m.ServerIdentifier() == nil || m.MessageType() != dhcpv4.MessageTypeOffer {
		t.Errorf("trimmed reply: %s", m.Summary())
	}
	big := discover(t, vm1MAC, dhcpv4.WithOption(dhcpv4.OptMaxMessageSize(1500)))
	if m := roundTrip(t, big, c.handle4(big, quiet)); len(m.Options.Get(dhcpv4.OptionRootPath)) != 400 {
		t.Error("a client accepting 1500 bytes gets everything")
	}
}
