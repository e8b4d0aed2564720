package router

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func pfFIPWith(pfs ...PortForwarding) *FloatingIP {
	return &FloatingIP{ID: "f", FloatingIPAddress: netip.MustParseAddr("203.0.113.30"), FloatingNetworkID: "ext", RouterID: "r", PortForwardings: pfs}
}

func forwardUnit(id, proto string, ext, in int, inRange, extRange, addr string) PortForwarding {
	pf := PortForwarding{ID: id, Protocol: proto, InternalPortID: "p-" + id, ExternalPort: ext, InternalPort: in,
		InternalPortRange: inRange, ExternalPortRange: extRange}
	if addr != "" {
		pf.InternalIPAddress = netip.MustParseAddr(addr)
	}
	return pf
}

func TestPortForwardingValidationNamesTheField(t *testing.T) {
	ok := forwardUnit("a", "tcp", 22, 22, "", "", "100.64.1.10")
	for _, tc := range []struct {
		name string
		f    *FloatingIP
		want string
	}{
		{"protocol", pfFIPWith(forwardUnit("a", "icmp", 22, 22, "", "", "100.64.1.10")), "port_forwardings[0].protocol"},
		{"no address", pfFIPWith(forwardUnit("a", "tcp", 22, 22, "", "", "")), "port_forwardings[0].internal_ip_address: required"},
		{"IPv6 address", pfFIPWith(forwardUnit("a", "tcp", 22, 22, "", "", "2001:db8::1")), "port_forwardings[0].internal_ip_address"},
		{"no external port", pfFIPWith(forwardUnit("a", "tcp", 0, 22, "", "", "100.64.1.10")), "port_forwardings[0].external_port: required"},
		{"port and range", pfFIPWith(forwardUnit("a", "tcp", 22, 22, "", "22:23", "100.64.1.10")), "port_forwardings[0].external_port_range: given with external_port"},
		{"port out of range", pfFIPWith(forwardUnit("a", "tcp", 70000, 22, "", "", "100.64.1.10")), "port_forwardings[0].external_port: 70000"},
		{"bad range", pfFIPWith(forwardUnit("a", "tcp", 0, 0, "9:3", "1:7", "100.64.1.10")), `port_forwardings[0].internal_port_range: "9:3"`},
		{"ranges of different lengths", pfFIPWith(forwardUnit("a", "tcp", 0, 0, "80:82", "1000:1009", "100.64.1.10")),
			"port_forwardings[0].internal_port_range: 80:82 has 3 ports and external 1000:1009 10"},
		{"same external port", pfFIPWith(ok, forwardUnit("b", "tcp", 0, 80, "", "20:30", "100.64.1.11")),
			"port_forwardings[1].external_port: tcp 20:30 overlaps port_forwardings[0]'s 22"},
		{"same internal port", pfFIPWith(ok, forwardUnit("b", "tcp", 2222, 22, "", "", "100.64.1.10")), "port_forwardings[1].internal_port"},
		{"repeated ID", pfFIPWith(ok, forwardUnit("a", "udp", 22, 22, "", "", "100.64.1.10")), "port_forwardings[1].id"},
		{"associated", func() *FloatingIP {
			f := pfFIPWith(ok)
			f.PortID, f.FixedIPAddress = "p", netip.MustParseAddr("100.64.1.9")
			return f
		}(), "port_forwardings: floating IP is associated"},
		{"no router", func() *FloatingIP { f := pfFIPWith(ok); f.RouterID = ""; return f }(), "router_id: required with port_forwardings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if err == nil || !(errors.Is(err, errdefs.ErrInvalid) || errors.Is(err, errdefs.ErrConflict)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error at %q", err, tc.want)
			}
		})
	}
	// The same port on another protocol, and N external ports onto one
	// internal port, are fine.
	if err := pfFIPWith(ok, forwardUnit("b", "udp", 22, 22, "", "", "100.64.1.10"),
		forwardUnit("c", "tcp", 0, 80, "", "8000:8009", "100.64.1.11")).Validate(); err != nil {
		t.Fatal(err)
	}
}

// Ranges expand to one element per external port, one to one or onto one
// internal port.
func TestPortForwardingElements(t *testing.T) {
	fip := netip.MustParseAddr("203.0.113.30")
	m := map[pfKey]pfVal{}
	pa := forwardUnit("a", "tcp", 0, 0, "8080:8082", "3000:3002", "100.64.1.10")
	pb := forwardUnit("b", "udp", 0, 53, "", "6000:6001", "100.64.1.11")
	pa.elements(fip, m)
	pb.elements(fip, m)
	a, b := netip.MustParseAddr("100.64.1.10"), netip.MustParseAddr("100.64.1.11")
	want := map[pfKey]pfVal{
		{fip, protoTCP, 3000}: {a, 8080}, {fip, protoTCP, 3001}: {a, 8081}, {fip, protoTCP, 3002}: {a, 8082},
		{fip, protoUDP, 6000}: {b, 53}, {fip, protoUDP, 6001}: {b, 53},
	}
	if len(m) != len(want) {
		t.Fatalf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: got %s, want %s", k, m[k], v)
		}
	}
}

// A forwarding to an address that is not its port's, or not behind the
// router, is refused by the router's own compile, naming the field.
func TestPortForwardingCompileChecksTheInternalAddress(t *testing.T) {
	b := &docBuilder{}
	extNet, extSub := b.network("203.0.113.0/24", "203.0.113.1", true)
	_, subA := b.network("100.64.1.0/24", "100.64.1.1", false)
	r := b.router(extNet, extSub, "203.0.113.10")
	b.attach(r, subA)
	vm := b.port("vm", "compute:nova", b.subnet(subA).NetworkID, fixed(subA, "100.64.1.10"))
	pf := forwardUnit("a", "tcp", 22, 22, "", "", "100.64.1.11")
	pf.InternalPortID = vm.ID
	b.d.FloatingIPs = append(b.d.FloatingIPs, FloatingIP{ID: b.id(), FloatingIPAddress: netip.MustParseAddr("203.0.113.30"),
		FloatingNetworkID: extNet, RouterID: r, PortForwardings: []PortForwarding{pf}})
	_, err := b.d.compile()
	if err == nil || !strings.Contains(err.Error(), "floatingips[0].port_forwardings[0].internal_ip_address: 100.64.1.11 is not a fixed IP of port") {
		t.Fatalf("got %v", err)
	}
	b.d.FloatingIPs[0].PortForwardings[0].InternalIPAddress = netip.MustParseAddr("100.64.9.9")
	if _, err := b.d.compile(); err == nil || !strings.Contains(err.Error(), "internal_ip_address: 100.64.9.9 is not on a subnet attached") {
		t.Fatalf("got %v", err)
	}
	b.d.FloatingIPs[0].PortForwardings[0].InternalIPAddress = netip.MustParseAddr("100.64.1.10")
	specs, err := b.d.compile()
	if err != nil {
		t.Fatal(err)
	}
	fip := netip.MustParseAddr("203.0.113.30")
	if got := specs[0].NAT.PF[pfKey{fip, protoTCP, 22}]; got != (pfVal{netip.MustParseAddr("100.64.1.10"), 22}) {
		t.Errorf("element: %v", specs[0].NAT.PF)
	}
	if !specs[0].Gateway.holds(fip) {
		t.Errorf("the gateway does not answer for the forwarding FIP: %v", specs[0].Gateway.Addrs)
	}
}
