package bgp

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/subnet"
)

// world is a small topology: external networks ext (IPv4 + IPv6) and ext2,
// tenant subnets in and out of the external networks' address scopes.
func world() Inputs {
	sn := func(id, net, cidr, pool string) subnet.Subnet {
		p := netip.MustParsePrefix(cidr)
		v := 4
		if p.Addr().Is6() {
			v = 6
		}
		return subnet.Subnet{ID: id, NetworkID: net, CIDR: p, IPVersion: v, SubnetPoolID: pool}
	}
	return Inputs{
		AddressScopes: []ipam.AddressScope{
			{ID: "scope4", IPVersion: 4}, {ID: "scope4b", IPVersion: 4}, {ID: "scope6", IPVersion: 6},
		},
		SubnetPools: []ipam.SubnetPool{
			{ID: "pool-ext", AddressScopeID: "scope4", Prefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}},
			{ID: "pool-ext2", AddressScopeID: "scope4b", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/25")}},
			{ID: "pool-t", AddressScopeID: "scope4", Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/25")}},
			{ID: "pool-other", AddressScopeID: "scope4b", Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.192/26")}},
			{ID: "pool-unscoped", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.128/25")}},
			{ID: "pool-ext6", AddressScopeID: "scope6", Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8:ffff::/48")}},
			{ID: "pool-t6", AddressScopeID: "scope6", Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/48")}},
		},
		Subnets: []subnet.Subnet{
			sn("ext-v4", "ext", "203.0.113.0/24", "pool-ext"),
			sn("ext-v6", "ext", "2001:db8:ffff::/64", "pool-ext6"),
			sn("ext2-v4", "ext2", "198.51.100.0/25", "pool-ext2"),
			sn("t1", "net1", "192.0.2.0/26", "pool-t"),
			sn("t1-v6", "net1", "2001:db8:1::/64", "pool-t6"),
			sn("t2", "net2", "192.0.2.64/26", "pool-t"),
			sn("t-nopool", "net3", "192.0.2.128/26", ""),
			sn("t-other", "net4", "192.0.2.192/26", "pool-other"),
			sn("t-unscoped", "net5", "198.51.100.128/25", "pool-unscoped"),
		},
	}
}

// gwPort and ifPort build router ports; ips are "subnet=address".
func routerPort(owner, routerID, netID string, ips ...string) port.Port {
	p := port.Port{ID: owner[8:] + "-" + routerID + "-" + netID, NetworkID: netID, DeviceOwner: owner, DeviceID: routerID}
	for _, s := range ips {
		sub, addr, _ := strings.Cut(s, "=")
		p.FixedIPs = append(p.FixedIPs, port.FixedIP{SubnetID: sub, IPAddress: netip.MustParseAddr(addr)})
	}
	return p
}

func gwPort(routerID, netID string, ips ...string) port.Port {
	return routerPort(port.OwnerRouterGateway, routerID, netID, ips...)
}

func ifPort(routerID, netID string, ips ...string) port.Port {
	return routerPort(port.OwnerRouterInterface, routerID, netID, ips...)
}

func fip(id, addr, routerID, portID string) router.FloatingIP {
	return router.FloatingIP{ID: id, FloatingIPAddress: netip.MustParseAddr(addr), FloatingNetworkID: "ext", RouterID: routerID, PortID: portID}
}

func routes(s ...string) []Route {
	out := []Route{}
	for _, r := range s {
		p, nh, _ := strings.Cut(r, " via ")
		out = append(out, Route{Prefix: netip.MustParsePrefix(p), NextHop: netip.MustParseAddr(nh)})
	}
	return out
}

func off() *bool { b := false; return &b }

func TestCompute(t *testing.T) {
	v4 := Speaker{ID: "s4", LocalAS: 64512, IPVersion: 4, Networks: []string{"ext"}}
	v6 := Speaker{ID: "s6", LocalAS: 64512, IPVersion: 6, Networks: []string{"ext"}}
	r1Ports := []port.Port{
		gwPort("r1", "ext", "ext-v4=203.0.113.10", "ext-v6=2001:db8:ffff::10"),
		ifPort("r1", "net1", "t1=192.0.2.1", "t1-v6=2001:db8:1::1"),
		ifPort("r1", "net3", "t-nopool=192.0.2.129"),
		ifPort("r1", "net4", "t-other=192.0.2.193"),
		ifPort("r1", "net5", "t-unscoped=198.51.100.129"),
	}
	fips := []router.FloatingIP{
		fip("fip-assoc", "203.0.113.50", "r1", "vm1"),
		fip("fip-free", "203.0.113.51", "", ""),
		fip("fip-stale-router", "203.0.113.52", "r1", ""),
	}
	tests := []struct {
		name    string
		speaker Speaker
		edit    func(in *Inputs)
		want    []Route
	}{
		{
			name:    "same scope subnets and associated FIPs via the gateway; other, no or unscoped pools are not advertised",
			speaker: v4,
			edit:    func(in *Inputs) { in.Ports, in.FloatingIPs = r1Ports, fips },
			want:    routes("192.0.2.0/26 via 203.0.113.10", "203.0.113.50/32 via 203.0.113.10"),
		},
		{
			name:    "IPv6 speaker: IPv6 subnets via the IPv6 gateway, no FIP host routes",
			speaker: v6,
			edit:    func(in *Inputs) { in.Ports, in.FloatingIPs = r1Ports, fips },
			want:    routes("2001:db8:1::/64 via 2001:db8:ffff::10"),
		},
		{
			name:    "router without a gateway advertises nothing",
			speaker: v4,
			edit: func(in *Inputs) {
				in.Ports = []port.Port{ifPort("r2", "net2", "t2=192.0.2.65")}
				in.FloatingIPs = []router.FloatingIP{fip("f", "203.0.113.60", "r2", "vm2")}
			},
			want: routes(),
		},
		{
			name:    "admin-down router advertises nothing",
			speaker: v4,
			edit: func(in *Inputs) {
				in.Ports, in.FloatingIPs = r1Ports, fips
				in.Routers[0].AdminStateUp = off()
			},
			want: routes(),
		},
		{
			name:    "advertise_tenant_networks off: FIPs only",
			speaker: Speaker{LocalAS: 1, IPVersion: 4, Networks: []string{"ext"}, AdvertiseTenantNetworks: off()},
			edit:    func(in *Inputs) { in.Ports, in.FloatingIPs = r1Ports, fips },
			want:    routes("203.0.113.50/32 via 203.0.113.10"),
		},
		{
			name:    "advertise_floating_ip_host_routes off: tenant networks only",
			speaker: Speaker{LocalAS: 1, IPVersion: 4, Networks: []string{"ext"}, AdvertiseFloatingIPHostRoutes: off()},
			edit:    func(in *Inputs) { in.Ports, in.FloatingIPs = r1Ports, fips },
			want:    routes("192.0.2.0/26 via 203.0.113.10"),
		},
		{
			name:    "several routers, each its own next hop",
			speaker: v4,
			edit: func(in *Inputs) {
				in.Ports = append(slices.Clone(r1Ports),
					gwPort("r2", "ext", "ext-v4=203.0.113.20"), ifPort("r2", "net2", "t2=192.0.2.65"))
				in.FloatingIPs = append(slices.Clone(fips), fip("f2", "203.0.113.70", "r2", "vm2"))
			},
			want: routes("192.0.2.0/26 via 203.0.113.10", "192.0.2.64/26 via 203.0.113.20",
				"203.0.113.50/32 via 203.0.113.10", "203.0.113.70/32 via 203.0.113.20"),
		},
		{
			name:    "a speaker sees only the routers on its networks",
			speaker: Speaker{LocalAS: 1, IPVersion: 4, Networks: []string{"ext2"}},
			edit: func(in *Inputs) {
				in.Ports = append(slices.Clone(r1Ports),
					gwPort("r2", "ext2", "ext2-v4=198.51.100.20"), ifPort("r2", "net4", "t-other=192.0.2.194"),
					ifPort("r2", "net2", "t2=192.0.2.65"))
				in.FloatingIPs = fips
			},
			want: routes("192.0.2.192/26 via 198.51.100.20"),
		},
		{
			name:    "gateway address from external_gateway_info when there is no gateway port",
			speaker: v4,
			edit: func(in *Inputs) {
				in.Ports = r1Ports[1:]
				in.Routers[0].ExternalGatewayInfo = &router.GatewayInfo{NetworkID: "ext",
					ExternalFixedIPs: []port.FixedIP{{SubnetID: "ext-v4", IPAddress: netip.MustParseAddr("203.0.113.11")}}}
			},
			want: routes("192.0.2.0/26 via 203.0.113.11"),
		},
		{
			name:    "a scope missing from address_scopes matches nothing, FIPs still go",
			speaker: v4,
			edit: func(in *Inputs) {
				in.Ports, in.FloatingIPs = r1Ports, fips
				in.AddressScopes = in.AddressScopes[1:]
			},
			want: routes("203.0.113.50/32 via 203.0.113.10"),
		},
		{
			name:    "a subnet on the bound network itself is not advertised",
			speaker: v4,
			edit: func(in *Inputs) {
				in.Ports = []port.Port{gwPort("r1", "ext", "ext-v4=203.0.113.10"), ifPort("r1", "ext", "ext-v4=203.0.113.1")}
			},
			want: routes(),
		},
		{
			name:    "one subnet behind two routers: the lowest next hop wins",
			speaker: v4,
			edit: func(in *Inputs) {
				in.Ports = []port.Port{
					gwPort("r1", "ext", "ext-v4=203.0.113.30"), ifPort("r1", "net1", "t1=192.0.2.1"),
					gwPort("r2", "ext", "ext-v4=203.0.113.20"), ifPort("r2", "net1", "t1=192.0.2.2"),
				}
			},
			want: routes("192.0.2.0/26 via 203.0.113.20"),
		},
		{
			name:    "a speaker bound to no network advertises nothing",
			speaker: Speaker{LocalAS: 1, IPVersion: 4},
			edit:    func(in *Inputs) { in.Ports, in.FloatingIPs = r1Ports, fips },
			want:    routes(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := world()
			in.Routers = []router.Router{{ID: "r1"}, {ID: "r2"}}
			tc.edit(&in)
			got := Compute(tc.speaker, in)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Compute:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// tenantWorld is a cloud with two routers on external network ext: r1
// (gateway 203.0.113.10) with a same-scope subnet, an unscoped subnet and two
// FIPs; r2 (gateway 203.0.113.20) with a same-scope subnet and one FIP.
func tenantWorld() Inputs {
	in := world()
	in.Routers = []router.Router{{ID: "r1"}, {ID: "r2"}}
	in.Ports = []port.Port{
		gwPort("r1", "ext", "ext-v4=203.0.113.10", "ext-v6=2001:db8:ffff::10"),
		ifPort("r1", "net1", "t1=192.0.2.1", "t1-v6=2001:db8:1::1"),
		ifPort("r1", "net3", "t-nopool=192.0.2.129"),
		gwPort("r2", "ext", "ext-v4=203.0.113.20"),
		ifPort("r2", "net2", "t2=192.0.2.65"),
	}
	in.FloatingIPs = []router.FloatingIP{
		fip("fip-a", "203.0.113.50", "r1", "vm-a"),
		fip("fip-b", "203.0.113.51", "r1", "vm-b"),
		fip("fip-c", "203.0.113.60", "r2", "vm-c"),
	}
	return in
}

func TestComputeIsSortedAndStable(t *testing.T) {
	in := world()
	in.Routers = []router.Router{{ID: "r1"}}
	in.Ports = []port.Port{gwPort("r1", "ext", "ext-v4=203.0.113.10"), ifPort("r1", "net2", "t2=192.0.2.65"), ifPort("r1", "net1", "t1=192.0.2.1")}
	for i := 200; i > 100; i-- {
		in.FloatingIPs = append(in.FloatingIPs, fip("f", netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}).String(), "r1", "p"))
	}
	sp := Speaker{LocalAS: 1, IPVersion: 4, Networks: []string{"ext", "ext"}}
	a, b := Compute(sp, in), Compute(sp, in)
	if !slices.Equal(a, b) || !slices.IsSortedFunc(a, Route.Compare) || len(a) != 102 {
		t.Fatalf("want 102 sorted routes, equal on every call; got %d sorted=%v", len(a), slices.IsSortedFunc(a, Route.Compare))
	}
}
