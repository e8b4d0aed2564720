package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/agent"
	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// The demo's IPv6 half: tenant1 is dual-stack with a slaac subnet, the
// external network has an IPv6 subnet whose gateway is upstream, and IPv6
// is routed without NAT in one address scope, so a second BGP speaker
// (Neutron runs one per IP version, each in its own dragent: here the
// process bgp6) announces the tenant prefix to upstream's gobgpd.
const (
	scope6ID    = "5c0e0006-0000-4000-8000-000000000006"
	poolExt6ID  = "900e0006-0000-4000-8000-000000000006"
	poolTen6ID  = "900e0007-0000-4000-8000-000000000007"
	subExt6ID   = "5e0e0006-0000-4000-8000-000000000006"
	subT1v6ID   = "5a1a0006-0000-4000-8000-000000000006"
	speaker6ID  = "b6b50006-0000-4000-8000-000000000006"
	peer6ID     = "b6b90006-0000-4000-8000-000000000006"
	bgp6Host    = "bgp6"
	bgp6Mode    = "__bgp6"
	dnsServer6  = "2001:db8::53"
	svc6Timeout = 3 * time.Second
)

var (
	ext6         = netip.MustParsePrefix("2001:db8:ff::/64")
	upstreamExt6 = netip.MustParsePrefix("2001:db8:ff::fe/64") // the external subnet's gateway_ip
	gateway6     = netip.MustParseAddr("2001:db8:ff::10")
	tenant1v6    = netip.MustParsePrefix("2001:db8:1::/64")
	tenant1Gw6   = netip.MustParseAddr("2001:db8:1::1")
	mgmtBGP6     = netip.MustParsePrefix("198.18.0.5/30") // the IPv6 speaker's session runs over IPv4, as Neutron's may
	mgmtUp6      = netip.MustParsePrefix("198.18.0.6/30")
	linkLocal    = netip.MustParsePrefix("fe80::/64")
)

// slaacAddr is the EUI-64 address a port with mac forms in prefix: what
// Neutron records as its fixed IP on a slaac subnet, and what the guest's
// kernel must pick by itself.
func slaacAddr(prefix netip.Prefix, mac string) netip.Addr {
	a, err := ipam.SLAAC(prefix, port.MustParseMAC(mac).HardwareAddr())
	if err != nil {
		panic(err)
	}
	return a
}

// withIPv6 adds the IPv6 half to the demo's topology.
func withIPv6(t *neutrino.Topology) *neutrino.Topology {
	t.AddressScopes = append(t.AddressScopes, ipam.AddressScope{ID: scope6ID, Name: "demo-v6", IPVersion: 6})
	t.SubnetPools = append(t.SubnetPools,
		ipam.SubnetPool{ID: poolExt6ID, Name: "public-v6", Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8:ff::/48")}, AddressScopeID: scope6ID, IPVersion: 6, DefaultPrefixLen: 64},
		ipam.SubnetPool{ID: poolTen6ID, Name: "tenants-v6", Prefixes: []netip.Prefix{netip.MustParsePrefix("2001:db8:1::/48")}, AddressScopeID: scope6ID, IPVersion: 6, DefaultPrefixLen: 64})
	t.Subnets = append(t.Subnets,
		subnet.Subnet{ID: subExt6ID, Name: "public-v6", NetworkID: netExtID, IPVersion: 6, CIDR: ext6,
			GatewayIP: upstreamExt6.Addr(), EnableDHCP: ptr(false), SubnetPoolID: poolExt6ID},
		subnet.Subnet{ID: subT1v6ID, Name: "tenant1-v6", NetworkID: netT1ID, IPVersion: 6, CIDR: tenant1v6,
			GatewayIP: tenant1Gw6, IPv6RAMode: subnet.ModeSLAAC, IPv6AddressMode: subnet.ModeSLAAC,
			DNSNameservers: []netip.Addr{netip.MustParseAddr(dnsServer6)}, SubnetPoolID: poolTen6ID})
	gw := t.Routers[0].ExternalGatewayInfo
	gw.ExternalFixedIPs = append(gw.ExternalFixedIPs, port.FixedIP{SubnetID: subExt6ID, IPAddress: gateway6})
	for i := range t.Ports {
		p := &t.Ports[i]
		switch {
		case p.ID == portGwID:
			p.FixedIPs = append(p.FixedIPs, port.FixedIP{SubnetID: subExt6ID, IPAddress: gateway6})
		case p.ID == portIf1ID: // a router interface takes the subnet's gateway
			p.FixedIPs = append(p.FixedIPs, port.FixedIP{SubnetID: subT1v6ID, IPAddress: tenant1Gw6})
		case p.NetworkID == netT1ID: // every other port gets its EUI-64 address, as Neutron adds them
			p.FixedIPs = append(p.FixedIPs, port.FixedIP{SubnetID: subT1v6ID, IPAddress: slaacAddr(tenant1v6, p.MACAddress.String())})
		}
	}
	t.BGPPeers = append(t.BGPPeers, bgp.Peer{ID: peer6ID, Name: "upstream-v6", PeerIP: mgmtUp6.Addr(), RemoteAS: upstreamAS, AuthType: bgp.AuthNone})
	t.BGPSpeakers = append(t.BGPSpeakers, bgp.Speaker{ID: speaker6ID, Name: "speaker-v6", LocalAS: localAS, IPVersion: 6,
		Networks: []string{netExtID}, Peers: []string{peer6ID}})
	t.Hosts = append(t.Hosts, neutrino.Host{Name: bgp6Host, TunnelIP: mgmtBGP6.Addr(), BGPSpeakers: []string{speaker6ID}})
	return t
}

// prepareIPv6 readies the lab for the IPv6 half: upstream's address on the
// external network and its route back to tenant1's prefix (gobgpd learns
// routes but programs no kernel), the namespace bgp6 linked to upstream,
// and upstream's gobgpd neighbour for it with the IPv6 unicast family.
func prepareIPv6(w *world, g *gobgpd) error {
	up := w.ns["upstream"]
	eth0, err := up.Netlink().LinkByName("eth0")
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: upstreamExt6.Addr().AsSlice(), Mask: net.CIDRMask(upstreamExt6.Bits(), 128)}, Flags: syscall.IFA_F_NODAD}
	if err := up.Netlink().AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("upstream %s: %w", upstreamExt6, err)
	}
	back := &netlink.Route{Dst: &net.IPNet{IP: tenant1v6.Addr().AsSlice(), Mask: net.CIDRMask(64, 128)}, Gw: gateway6.AsSlice(), LinkIndex: eth0.Attrs().Index}
	if err := up.Netlink().RouteAdd(back); err != nil {
		return fmt.Errorf("upstream route %s via %s: %w", tenant1v6, gateway6, err)
	}
	if _, err := w.namespace(bgp6Host); err != nil {
		return err
	}
	if err := link(w.ns[bgp6Host], "mgmt0", mgmtBGP6, up, "mgmt6", mgmtUp6); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = g.client.AddPeer(ctx, &api.AddPeerRequest{Peer: &api.Peer{
		Conf:      &api.PeerConf{NeighborAddress: mgmtBGP6.Addr().String(), PeerAsn: localAS},
		Transport: &api.Transport{PassiveMode: true},
		AfiSafis: []*api.AfiSafi{
			{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}, Enabled: true}},
			{Config: &api.AfiSafiConfig{Family: &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}, Enabled: true}},
		},
	}})
	if err != nil {
		return fmt.Errorf("gobgpd neighbour %s: %w", mgmtBGP6.Addr(), err)
	}
	return w.listen6("upstream", netip.AddrPortFrom(upstreamExt6.Addr(), svcPort), func(c net.Conn) {
		fmt.Fprintf(c, "hello from upstream over IPv6, you are %s\n", hostOf(c.RemoteAddr()))
	})
}

// startBGP6 runs the IPv6 speaker's agent inside bgp6.
func startBGP6(w *world, topoFile string) (*agentHandle, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// Its own node prefix: an agent removes the router and DHCP namespaces
	// under its prefix that its host does not run, which would be node1's.
	cmd := execCommand("nsenter", "--net="+w.path(bgp6Host), "--", exe, bgp6Mode, topoFile, w.prefix+bgp6Host+"-")
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = pw
	logs, err := w.start(cmd)
	pw.Close()
	if err != nil {
		return nil, err
	}
	return &agentHandle{dec: json.NewDecoder(pr), logs: logs}, nil
}

// runBGP6 is the bgp6 process: the node agent of host bgp6, which runs
// nothing but the IPv6 speaker (hosts[].bgp_speakers), like a
// neutron-bgp-dragent. It reports its first Apply and keeps the speaker up
// until SIGTERM.
func runBGP6(topoFile, prefix string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	topo, err := neutrino.LoadFile(topoFile)
	if err != nil {
		return err
	}
	host, err := namespace.Current()
	if err != nil {
		return err
	}
	defer host.Close()
	node, err := agent.New(host, agent.Config{Host: bgp6Host, Prefix: prefix,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer node.Close()
	start := time.Now()
	rep, err := node.Apply(ctx, topo)
	res := applyResult{Mutations: rep.Mutations(), Millis: time.Since(start).Milliseconds(), Report: rep.String()}
	if err != nil {
		res.Error = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// listen6 is listen over IPv6.
func (w *world) listen6(name string, addr netip.AddrPort, serve func(net.Conn)) error {
	var ln net.Listener
	err := w.ns[name].Do(func() (err error) {
		ln, err = net.Listen("tcp6", addr.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("listen %s in %s: %w", addr, name, err)
	}
	w.mu.Lock()
	w.lns = append(w.lns, ln)
	w.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				serve(c)
			}()
		}
	}()
	return nil
}

// dial6 is dial over IPv6.
func (w *world) dial6(name string, addr netip.AddrPort) (string, error) {
	var line string
	err := w.ns[name].Do(func() error {
		c, err := net.DialTimeout("tcp6", addr.String(), svc6Timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(svc6Timeout))
		buf := make([]byte, 256)
		n, err := c.Read(buf)
		line = strings.TrimSpace(string(buf[:n]))
		return err
	})
	return line, err
}

// checksIPv6 proves the IPv6 half: each tenant1 instance's kernel formed,
// from router1's advertisements alone, exactly the EUI-64 address the
// topology records, with a default route via router1's link-local address;
// vm1 pings upstream (another network) through router1 and talks to it over
// TCP, untranslated; upstream's BGP daemon learned tenant1's prefix from
// the IPv6 speaker, next hop router1's IPv6 gateway address.
func checksIPv6(w *world, g *gobgpd, bgp6 applyResult) []result {
	var rs []result
	add := func(check string, ok bool, format string, args ...any) {
		rs = append(rs, result{check, ok, fmt.Sprintf(format, args...)})
	}
	routerLLA, _ := ipam.SLAAC(linkLocal, port.MustParseMAC("fa:16:3e:00:01:01").HardwareAddr())
	for _, vm := range instances {
		if vm.netID != netT1ID {
			continue
		}
		want := slaacAddr(tenant1v6, vm.mac)
		var got []netip.Addr
		var gw netip.Addr
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			got, gw = v6State(w.ns[vm.name])
			if contains(got, want) && gw == routerLLA {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		add("SLAAC address of "+vm.name, contains(got, want), "kernel formed %v, topology says %s", got, want)
		add("IPv6 default route of "+vm.name, gw == routerLLA, "via %v (router1's link-local %s)", gw, routerLLA)
	}
	out, err := w.run("vm1", 10*time.Second, "ping", "-6", "-c", "2", "-W", "2", "-i", "0.3", upstreamExt6.Addr().String())
	d := summary(out)
	if err != nil {
		d = lastLine(out)
	}
	add("vm1 -> upstream ping6 (through router1)", err == nil, "%s", d)
	vm1v6 := slaacAddr(tenant1v6, instances[0].mac)
	line, err := w.dial6("vm1", netip.AddrPortFrom(upstreamExt6.Addr(), svcPort))
	add("vm1 -> upstream over IPv6, no NAT", err == nil && strings.HasSuffix(line, "you are "+vm1v6.String()),
		"upstream says %q (want vm1's own %s)%s", line, vm1v6, errText(err))

	add("bgp6 speaker applied", bgp6.Error == "", "%d mutations%s", bgp6.Mutations, errText(errorOf(bgp6.Error)))
	want := map[string]string{tenant1v6.String(): gateway6.String()}
	var got map[string]string
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		if got = g.rib6(); equalMaps(got, want) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	add("BGP IPv6 routes learned by upstream", equalMaps(got, want), "%s", formatRoutes(got))
	return rs
}

func errorOf(s string) error {
	if s == "" {
		return nil
	}
	return fmt.Errorf("%s", s)
}

func contains(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// v6State reads eth0's usable global IPv6 addresses and the IPv6 default route's
// gateway in an instance, with netlink.
func v6State(h *namespace.Handle) (addrs []netip.Addr, gw netip.Addr) {
	l, err := h.Netlink().LinkByName("eth0")
	if err != nil {
		return nil, gw
	}
	as, _ := namespace.Dump(func() ([]netlink.Addr, error) { return h.Netlink().AddrList(l, netlink.FAMILY_V6) })
	for _, a := range as {
		// A tentative address (duplicate address detection running) is
		// not usable as a source yet: the guest would fall back to its
		// link-local address, which a router never forwards.
		if x, ok := netip.AddrFromSlice(a.IP); ok && !x.IsLinkLocalUnicast() && a.Flags&syscall.IFA_F_TENTATIVE == 0 {
			addrs = append(addrs, x)
		}
	}
	routes, _ := namespace.Dump(func() ([]netlink.Route, error) {
		return h.Netlink().RouteListFiltered(netlink.FAMILY_V6,
			&netlink.Route{Dst: &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}}, netlink.RT_FILTER_DST)
	})
	for _, r := range routes {
		if x, ok := netip.AddrFromSlice(r.Gw); ok {
			gw = x
		}
	}
	return addrs, gw
}

// rib6 returns prefix -> next hop of the daemon's best IPv6 paths.
func (g *gobgpd) rib6() map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string]string{}
	stream, err := g.client.ListPath(ctx, &api.ListPathRequest{TableType: api.TableType_GLOBAL,
		Family: &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}})
	if err != nil {
		return out
	}
	for {
		r, err := stream.Recv()
		if err != nil {
			return out
		}
		for _, p := range r.Destination.Paths {
			if !p.Best {
				continue
			}
			nlri, err := apiutil.GetNativeNlri(p)
			if err != nil {
				continue
			}
			attrs, _ := apiutil.GetNativePathAttributes(p)
			for _, a := range attrs {
				if mp, ok := a.(*gobgp.PathAttributeMpReachNLRI); ok && len(mp.Nexthop) > 0 {
					out[nlri.String()] = mp.Nexthop.String()
				}
			}
		}
	}
}
