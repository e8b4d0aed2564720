package router

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

func haPort(id, routerID, netID, host, ip string) port.Port {
	return port.Port{ID: id, NetworkID: netID, DeviceOwner: port.OwnerRouterHAInterface, DeviceID: routerID, HostID: host,
		FixedIPs: []port.FixedIP{{SubnetID: "hasub", IPAddress: netip.MustParseAddr(ip)}}}
}

func TestValidateHA(t *testing.T) {
	good := func() ([]Router, []port.Port) {
		return []Router{{ID: "r1", HA: true, HAVRID: 1}, {ID: "r2", HA: true, HAVRID: 2}, {ID: "r3"}},
			[]port.Port{
				haPort("p1", "r1", "hanet", "node1", "169.254.192.1"),
				haPort("p2", "r1", "hanet", "node2", "169.254.192.2"),
				haPort("p3", "r2", "hanet", "node1", "169.254.192.3"),
			}
	}
	rs, ps := good()
	if err := ValidateHA(rs, ps); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mut       func([]Router, []port.Port) ([]Router, []port.Port)
		path      string
		wantError error
	}{
		"vrid missing": {func(r []Router, p []port.Port) ([]Router, []port.Port) { r[0].HAVRID = 0; return r, p }, "routers[0].ha_vrid", errdefs.ErrInvalid},
		"vrid 255":     {func(r []Router, p []port.Port) ([]Router, []port.Port) { r[0].HAVRID = 255; return r, p }, "routers[0].ha_vrid", errdefs.ErrInvalid},
		"vrid shared":  {func(r []Router, p []port.Port) ([]Router, []port.Port) { r[1].HAVRID = 1; return r, p }, "routers[1].ha_vrid", errdefs.ErrConflict},
		"vrid not ha":  {func(r []Router, p []port.Port) ([]Router, []port.Port) { r[2].HAVRID = 3; return r, p }, "routers[2].ha_vrid", errdefs.ErrInvalid},
		"no ha port":   {func(r []Router, p []port.Port) ([]Router, []port.Port) { return r, p[:2] }, "routers[1].ha", errdefs.ErrNotFound},
		"no host":      {func(r []Router, p []port.Port) ([]Router, []port.Port) { p[0].HostID = ""; return r, p }, "ports[0].binding:host_id", errdefs.ErrInvalid},
		"two on host":  {func(r []Router, p []port.Port) ([]Router, []port.Port) { p[1].HostID = "node1"; return r, p }, "ports[1].binding:host_id", errdefs.ErrConflict},
		"two networks": {func(r []Router, p []port.Port) ([]Router, []port.Port) { p[1].NetworkID = "other"; return r, p }, "ports[1].network_id", errdefs.ErrConflict},
		"outside cidr": {func(r []Router, p []port.Port) ([]Router, []port.Port) {
			p[0].FixedIPs[0].IPAddress = netip.MustParseAddr("100.64.0.1")
			return r, p
		}, "ports[0].fixed_ips", errdefs.ErrInvalid},
		"router not ha": {func(r []Router, p []port.Port) ([]Router, []port.Port) {
			return r, append(p, haPort("p4", "r3", "hanet", "node1", "169.254.192.4"))
		}, "ports[3].device_owner", errdefs.ErrInvalid},
		"no router": {func(r []Router, p []port.Port) ([]Router, []port.Port) {
			return r, append(p, haPort("p4", "r9", "hanet", "node1", "169.254.192.4"))
		}, "ports[3].device_id", errdefs.ErrNotFound},
	} {
		rs, ps := good()
		err := ValidateHA(c.mut(rs, ps))
		if !errors.Is(err, c.wantError) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: %v, want %v at %s", name, err, c.wantError, c.path)
		}
	}
}

func TestHAHeldFromCompiledRouter(t *testing.T) {
	b, r, ext := basicDoc()
	b.fip(r, ext, "203.0.113.20", "100.64.1.5")
	specs, err := b.d.compile()
	if err != nil {
		t.Fatal(err)
	}
	vips, routes := specs[0].haHeld()
	var got []string
	for _, v := range vips {
		got = append(got, v.Dev[:3]+v.Prefix.String())
	}
	want := "[qg-203.0.113.10/24 qg-203.0.113.20/32 qr-100.64.1.1/24]"
	if g := strings.Join(got, " "); "["+g+"]" != want && !sameSet(got, want) {
		t.Fatalf("vips %v, want %s", got, want)
	}
	if len(routes) != 1 || routes[0].Dst.Bits() != 0 || routes[0].Via[0] != netip.MustParseAddr("203.0.113.1") {
		t.Fatalf("routes %+v", routes)
	}
}

func sameSet(got []string, want string) bool {
	w := strings.Fields(strings.Trim(want, "[]"))
	if len(w) != len(got) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range w {
		seen[x] = true
	}
	for _, g := range got {
		if !seen[g] {
			return false
		}
	}
	return true
}
