package ipam_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
)

func Example() {
	// A subnet given only its CIDR gets Neutron's defaults, explicitly.
	cidr := netip.MustParsePrefix("10.0.0.0/24")
	gateway := ipam.DefaultGateway(cidr)
	pools := ipam.DefaultPools(cidr, gateway)
	fmt.Println("gateway", gateway, "pools", pools)

	// A node would use ipam.OpenFileStore("/var/lib/neutrino/ipam").
	a, err := ipam.NewAllocator("subnet-1", cidr, pools, gateway, &ipam.MemoryStore{})
	if err != nil {
		panic(err)
	}
	dhcp, _ := a.AllocateNext("port-dhcp")
	fmt.Println("dhcp port", dhcp)

	_ = a.Allocate("port-vm", netip.MustParseAddr("10.0.0.10"))
	err = a.Allocate("port-other", netip.MustParseAddr("10.0.0.10"))
	fmt.Println("taken:", errors.Is(err, errdefs.ErrConflict))

	// After a restart, collect what owners that no longer exist still hold.
	released, _ := a.GC(func(owner string) bool { return owner == "port-vm" })
	fmt.Println("released", released)

	mac, _ := net.ParseMAC("fa:16:3e:12:34:56")
	slaac, _ := ipam.SLAAC(netip.MustParsePrefix("2001:db8::/64"), mac)
	fmt.Println("slaac", slaac)
	// Output:
	// gateway 10.0.0.1 pools [10.0.0.2-10.0.0.254]
	// dhcp port 10.0.0.2
	// taken: true
	// released [10.0.0.2]
	// slaac 2001:db8::f816:3eff:fe12:3456
}

func ExampleSubnetPool_Carve() {
	pool := &ipam.SubnetPool{
		ID:               "pool-1",
		Prefixes:         []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")},
		AddressScopeID:   "scope-1",
		DefaultPrefixLen: 24,
	}
	allocated := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	cidr, _ := pool.Carve(allocated, 0)
	fmt.Println(cidr, ipam.DefaultPoolGateway(cidr))
	// Output: 10.0.1.0/24 10.0.1.1
}
