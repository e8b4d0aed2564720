package router

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// dhclient6 runs dhclient -6 (stateful) or -6 -S (stateless) in h and
// returns the environment of the first event whose reason is one of
// reasons, as dhclient's hook script saw it.
func (f *fixture) dhclient6(h *namespace.Handle, stateless bool, reasons ...string) map[string]string {
	f.t.Helper()
	dir := f.t.TempDir()
	out, hook := filepath.Join(dir, "events"), filepath.Join(dir, "hook.sh")
	require.NoError(f.t, os.WriteFile(hook, []byte("#!/bin/sh\n{ echo \"--- $reason\"; env; echo \"=== end\"; } >> "+out+"\nexit 0\n"), 0o755))
	argv := []string{"dhclient", "-6", "-d", "-v", "-1", "-cf", "/dev/null", "-sf", hook, "-lf", dir + "/leases", "-pf", dir + "/pid", "eth0"}
	if stateless {
		argv = slices.Insert(argv, 2, "-S")
	}
	cmd, log := f.l.Start(h, argv...)
	defer lab.Stop(cmd)
	var found map[string]string
	require.Eventually(f.t, func() bool {
		b, _ := os.ReadFile(out)
		for _, block := range strings.Split(string(b), "--- ")[1:] {
			if !strings.Contains(block, "=== end") || !slices.Contains(reasons, strings.SplitN(block, "\n", 2)[0]) {
				continue
			}
			found = map[string]string{}
			for _, l := range strings.Split(block, "\n") {
				if k, v, ok := strings.Cut(l, "="); ok {
					found[k] = v
				}
			}
			return true
		}
		return false
	}, 30*time.Second, 50*time.Millisecond, "no %v from dhclient:\n%s", reasons, log)
	return found
}

// flag reads a yes/no line of rdisc6's output.
func flag(t *testing.T, out, name string) bool {
	m := regexp.MustCompile(regexp.QuoteMeta(name) + `\s*:\s*(Yes|No)`).FindStringSubmatch(out)
	require.NotNil(t, m, "rdisc6 printed no %q:\n%s", name, out)
	return m[1] == "Yes"
}

// The guests act as a host's network manager does: they read the router's
// flags and start the DHCPv6 client they ask for. M=1 (dhcpv6-stateful)
// makes dhclient -6 lease the port's fixed address from our DHCPv6 server;
// O=1 (dhcpv6-stateless) makes dhclient -6 -S fetch the options, while the
// kernel forms the address from the prefix (A=1).
func TestManagedAndOtherFlagsLeadToDHCPv6(t *testing.T) {
	lab.RequireCmd(t, "rdisc6", "dhclient")
	f := newFixture(t)
	b := f.b
	netS, subS := b.network("2001:db8:10::/64", "2001:db8:10::1", false)
	setModes(b.subnet(subS), subnet.ModeDHCPv6Stateful, subnet.ModeDHCPv6Stateful)
	b.subnet(subS).DNSNameservers = []netip.Addr{netip.MustParseAddr("2001:db8::53")}
	netL, subL := b.network("2001:db8:11::/64", "2001:db8:11::1", false)
	setModes(b.subnet(subL), subnet.ModeDHCPv6Stateless, subnet.ModeDHCPv6Stateless)
	b.subnet(subL).DNSNameservers = []netip.Addr{netip.MustParseAddr("2001:db8::54")}
	rid := b.router("", "", "")
	b.attach(rid, subS)
	b.attach(rid, subL)
	macS, macL := net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0c, 0, 1}, net.HardwareAddr{0xfa, 0x16, 0x3e, 0x0c, 0, 2}
	eui := func(s string, mac net.HardwareAddr) netip.Addr {
		a, err := ipam.SLAAC(b.subnet(s).CIDR, mac)
		require.NoError(t, err)
		return a
	}
	dhcpL := b.mac()
	b.port("dhcp-"+netS, port.OwnerDHCP, netS, fixed(subS, "2001:db8:10::2"))
	b.d.Ports = append(b.d.Ports, port.Port{ID: b.id(), NetworkID: netL, MACAddress: dhcpL, DeviceOwner: port.OwnerDHCP, DeviceID: "dhcp-" + netL,
		FixedIPs: []port.FixedIP{{SubnetID: subL, IPAddress: eui(subL, dhcpL.HardwareAddr())}}})
	b.d.Ports = append(b.d.Ports,
		port.Port{ID: b.id(), NetworkID: netS, MACAddress: port.MAC(macS), DeviceOwner: "compute:nova", FixedIPs: []port.FixedIP{fixed(subS, "2001:db8:10::10")}},
		port.Port{ID: b.id(), NetworkID: netL, MACAddress: port.MAC(macL), DeviceOwner: "compute:nova", FixedIPs: []port.FixedIP{{SubnetID: subL, IPAddress: eui(subL, macL)}}})
	f.bridges()
	vmS, vmL := f.slaacGuest("vmS", netS, macS), f.slaacGuest("vmL", netL, macL)

	f.apply(f.realizer())
	dr, err := dhcp.NewRealizer(f.host, dhcp.WithPrefix(f.l.NodePrefix("n1")))
	require.NoError(t, err)
	t.Cleanup(func() { _ = dr.Close() })
	_, err = dr.Apply(context.Background(), dhcp.Desired{Networks: b.d.Networks, Subnets: b.d.Subnets, Ports: b.d.Ports})
	require.NoError(t, err)

	out := f.rdisc6(vmS)
	require.True(t, flag(t, out, "Stateful address conf."), "M flag on the stateful network")
	ev := f.dhclient6(vmS, false, "BOUND6")
	require.Equal(t, "2001:db8:10::10", ev["new_ip6_address"])
	require.Equal(t, "2001:db8::53", ev["new_dhcp6_name_servers"])

	out = f.rdisc6(vmL)
	require.False(t, flag(t, out, "Stateful address conf."), "no M flag on the stateless network")
	require.True(t, flag(t, out, "Stateful other conf."), "O flag on the stateless network")
	// dhclient 4.4 reports a stateless reply as RENEW6 (INFORM6 elsewhere).
	ev = f.dhclient6(vmL, true, "INFORM6", "RENEW6")
	require.Equal(t, "2001:db8::54", ev["new_dhcp6_name_servers"])
	require.Empty(t, ev["new_ip6_address"])
	require.Eventually(t, func() bool { return slices.Contains(v6Addrs(t, vmL, "eth0"), eui(subL, macL)) }, 20*time.Second, 50*time.Millisecond,
		"A=1: the kernel forms the stateless guest's address")
}
