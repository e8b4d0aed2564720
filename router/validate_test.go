package router

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

func TestRouterValidate(t *testing.T) {
	good := Router{ID: "r1",
		ExternalGatewayInfo: &GatewayInfo{NetworkID: "ext", ExternalFixedIPs: []port.FixedIP{{SubnetID: "s"}, {IPAddress: netip.MustParseAddr("203.0.113.10")}}},
		Routes: []Route{
			{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("10.0.1.10")},
			{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: netip.MustParseAddr("10.0.1.11")},
		},
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Router)
		kind   error
		path   string
	}{
		{"no id", func(r *Router) { r.ID = "" }, errdefs.ErrInvalid, "id: required"},
		{"gateway without network", func(r *Router) { r.ExternalGatewayInfo.NetworkID = "" }, errdefs.ErrInvalid, "external_gateway_info.network_id: required"},
		{"empty external fixed ip", func(r *Router) { r.ExternalGatewayInfo.ExternalFixedIPs[0] = port.FixedIP{} }, errdefs.ErrInvalid, "external_gateway_info.external_fixed_ips[0]: give a subnet_id"},
		{"route host bits", func(r *Router) { r.Routes[0].Destination = netip.MustParsePrefix("198.51.100.1/24") }, errdefs.ErrInvalid, "routes[0].destination:"},
		{"route family", func(r *Router) { r.Routes[0].NextHop = netip.MustParseAddr("2001:db8::1") }, errdefs.ErrInvalid, "routes[0].nexthop: 2001:db8::1 is not of the family"},
		{"route twice", func(r *Router) { r.Routes[1] = r.Routes[0] }, errdefs.ErrConflict, "routes[1]: repeats routes[0]"},
		{"too many routes", func(r *Router) {
			for i := range MaxRoutes {
				r.Routes = append(r.Routes, Route{Destination: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 99, byte(i), 0}), 24), NextHop: netip.MustParseAddr("10.0.1.1")})
			}
		}, errdefs.ErrInvalid, "routes: 32 routes exceed"},
	} {
		r := good
		g := *good.ExternalGatewayInfo
		g.ExternalFixedIPs = append([]port.FixedIP(nil), g.ExternalFixedIPs...)
		r.ExternalGatewayInfo, r.Routes = &g, append([]Route(nil), good.Routes...)
		tc.mutate(&r)
		if err := r.Validate(); !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want %v at %q", tc.name, err, tc.kind, tc.path)
		}
	}
}

func TestFloatingIPValidate(t *testing.T) {
	good := FloatingIP{ID: "f", FloatingIPAddress: netip.MustParseAddr("203.0.113.50"), FloatingNetworkID: "ext",
		PortID: "p", FixedIPAddress: netip.MustParseAddr("10.0.1.5"), RouterID: "r"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	unassociated := FloatingIP{ID: "f", FloatingIPAddress: netip.MustParseAddr("203.0.113.51"), FloatingNetworkID: "ext"}
	if err := unassociated.Validate(); err != nil {
		t.Fatal(err)
	}
	// Neutron reports a FIP used only by port forwardings with its router
	// and no port: valid, and not NATed.
	forwarding := unassociated
	forwarding.RouterID = "r"
	if err := forwarding.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*FloatingIP)
		path   string
	}{
		{"no id", func(f *FloatingIP) { f.ID = "" }, "id: required"},
		{"no network", func(f *FloatingIP) { f.FloatingNetworkID = "" }, "floating_network_id: required"},
		{"no address", func(f *FloatingIP) { f.FloatingIPAddress = netip.Addr{} }, "floating_ip_address: an IP address is required"},
		{"v6 address", func(f *FloatingIP) { f.FloatingIPAddress = netip.MustParseAddr("2001:db8::5") }, "floating_ip_address: 2001:db8::5: floating IPs are IPv4"},
		{"no fixed ip", func(f *FloatingIP) { f.FixedIPAddress = netip.Addr{} }, "fixed_ip_address: required with port_id"},
		{"v6 fixed ip", func(f *FloatingIP) { f.FixedIPAddress = netip.MustParseAddr("2001:db8::5") }, "fixed_ip_address: 2001:db8::5: a floating IP translates to an IPv4"},
		{"no router", func(f *FloatingIP) { f.RouterID = "" }, "router_id: required with port_id"},
		{"fixed ip without port", func(f *FloatingIP) { f.PortID, f.RouterID = "", "" }, "fixed_ip_address: 10.0.1.5 given without port_id"},
	} {
		f := good
		tc.mutate(&f)
		if err := f.Validate(); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want ErrInvalid at %q", tc.name, err, tc.path)
		}
	}
}

// What Neutrino does not realize is refused by the model, so every
// realizer that validates its input refuses it too.
func TestValidateRefusesUnrealizedRouterFields(t *testing.T) {
	helper := json.RawMessage(`{"protocol": "tcp", "port": 21, "helper": "ftp"}`)
	for _, tc := range []struct {
		err  error
		path string
	}{
		{(&Router{ID: "r", HA: true}).Validate(), "ha: not realized"},
		{(&Router{ID: "r", Distributed: true}).Validate(), "distributed: not realized"},
		{(&Router{ID: "r", ConntrackHelpers: []json.RawMessage{helper}}).Validate(), "conntrack_helpers: not realized"},
		{(&Router{ID: "r", ExternalGatewayInfo: &GatewayInfo{NetworkID: "ext", QoSPolicyID: "q"}}).Validate(), "external_gateway_info.qos_policy_id: not realized"},
		{(&FloatingIP{ID: "f", FloatingIPAddress: netip.MustParseAddr("203.0.113.5"), FloatingNetworkID: "ext", QoSPolicyID: "q"}).Validate(), "qos_policy_id: not realized"},
	} {
		if !errors.Is(tc.err, errdefs.ErrUnsupported) || !strings.HasPrefix(tc.err.Error(), tc.path) {
			t.Errorf("got %v, want ErrUnsupported at %q", tc.err, tc.path)
		}
	}
	if err := (&Router{ID: "r", ConntrackHelpers: []json.RawMessage{}}).Validate(); err != nil {
		t.Errorf("an empty conntrack_helpers list, as Neutron reports it: %v", err)
	}
}
