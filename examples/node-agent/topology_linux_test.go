package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// Object kinds, the first byte of every generated ID: device names keep 11
// characters of an ID, so kind and index both sit in the first 8.
const (
	kNet = 0x10 + iota
	kSubnet
	kPort
	kRouter
	kFIP
	kGroup
	kRule
)

func id(kind, i int) string { return fmt.Sprintf("%02x%06x-0000-4000-8000-%012x", kind, i, i) }

func mac(kind, i int) port.MAC {
	return port.MustParseMAC(fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", kind, (i>>8)&0xff, i&0xff))
}

func ptr[T any](v T) *T { return &v }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// builder assembles a topology object by object.
type builder struct{ neutrino.Topology }

func (b *builder) host(name, tunnel string) {
	h := neutrino.Host{Name: name}
	if tunnel != "" {
		h.TunnelIP = ip(tunnel)
	}
	b.Hosts = append(b.Hosts, h)
}

// vxlanNet adds network i (VNI 1000+i) with subnet cidr, gateway .1.
func (b *builder) vxlanNet(i int, cidr string, dhcp bool) {
	b.Networks = append(b.Networks, network.Network{ID: id(kNet, i), Name: fmt.Sprintf("net%d", i), MTU: 1450,
		NetworkType: "vxlan", SegmentationID: 1000 + i})
	b.subnet(i, cidr, dhcp)
}

// flatNet adds the external network i on physnet1 with subnet cidr.
func (b *builder) flatNet(i int, cidr string) {
	b.Networks = append(b.Networks, network.Network{ID: id(kNet, i), Name: "public", MTU: 1500, External: true,
		NetworkType: "flat", PhysicalNetwork: "physnet1"})
	b.subnet(i, cidr, false)
}

func (b *builder) subnet(i int, cidr string, dhcp bool) {
	p := netip.MustParsePrefix(cidr)
	b.Subnets = append(b.Subnets, subnet.Subnet{ID: id(kSubnet, i), NetworkID: id(kNet, i), IPVersion: 4, CIDR: p,
		GatewayIP: p.Addr().Next(), EnableDHCP: ptr(dhcp)})
}

// hostAddr is address n of network i's subnet.
func (b *builder) hostAddr(i, n int) netip.Addr {
	for _, s := range b.Subnets {
		if s.ID == id(kSubnet, i) {
			a := s.CIDR.Addr()
			for range n {
				a = a.Next()
			}
			return a
		}
	}
	panic(fmt.Sprintf("no subnet %d", i))
}

// port adds port p on network i with address n of its subnet.
func (b *builder) port(p, i, n int, host, owner, device string) *port.Port {
	b.Ports = append(b.Ports, port.Port{ID: id(kPort, p), Name: fmt.Sprintf("port%d", p), NetworkID: id(kNet, i),
		MACAddress: mac(kPort, p), FixedIPs: []port.FixedIP{{SubnetID: id(kSubnet, i), IPAddress: b.hostAddr(i, n)}},
		DeviceOwner: owner, DeviceID: device, HostID: host})
	return &b.Ports[len(b.Ports)-1]
}

// instance adds an instance port; netns "" makes it a tap.
func (b *builder) instance(p, i, n int, host, netns string, groups ...string) *port.Port {
	pt := b.port(p, i, n, host, "compute:nova", id(0x77, p))
	pt.SecurityGroups = groups
	if netns != "" {
		pt.Profile = port.Profile{NetNS: netns, IfName: "eth0", ConfigureIPs: true}
	}
	return pt
}

// dhcpPort adds network i's DHCP port (address .2).
func (b *builder) dhcpPort(p, i int, host string) {
	b.port(p, i, 2, host, port.OwnerDHCP, "dhcp"+id(0x66, 0))
}

// router adds router r with a gateway on network ext at address gw (0: no
// gateway) and interfaces on the networks listed, with extra routes.
func (b *builder) router(r, ext, gw int, host string, ifaces []int, routes ...router.Route) {
	rt := router.Router{ID: id(kRouter, r), Name: fmt.Sprintf("router%d", r), Routes: routes}
	if gw > 0 {
		pt := b.port(0x8000+r, ext, gw, host, port.OwnerRouterGateway, rt.ID)
		rt.ExternalGatewayInfo = &router.GatewayInfo{NetworkID: id(kNet, ext), EnableSNAT: ptr(true),
			ExternalFixedIPs: []port.FixedIP{pt.FixedIPs[0]}}
	}
	for k, i := range ifaces {
		b.port(0x9000+r*16+k, i, 1, host, port.OwnerRouterInterface, rt.ID)
	}
	b.Routers = append(b.Routers, rt)
}

// fip maps address n of the external network ext to port p's fixed IP
// through router r.
func (b *builder) fip(f, ext, n, r, p int) {
	var fixed netip.Addr
	for _, pt := range b.Ports {
		if pt.ID == id(kPort, p) {
			fixed = pt.FixedIPs[0].IPAddress
		}
	}
	b.FloatingIPs = append(b.FloatingIPs, router.FloatingIP{ID: id(kFIP, f), FloatingIPAddress: b.hostAddr(ext, n),
		FloatingNetworkID: id(kNet, ext), PortID: id(kPort, p), FixedIPAddress: fixed, RouterID: id(kRouter, r)})
}

// group adds security group g: egress open, ingress from its own members,
// and TCP ports from..to from 198.51.100.0/24.
func (b *builder) group(g, from, to int) string {
	gid := id(kGroup, g)
	b.SecurityGroups = append(b.SecurityGroups, secgroup.SecurityGroup{ID: gid, Name: fmt.Sprintf("sg%d", g), Rules: []secgroup.Rule{
		{ID: id(kRule, g*8), Direction: "egress", Ethertype: "IPv4"},
		{ID: id(kRule, g*8+1), Direction: "ingress", Ethertype: "IPv4", RemoteGroupID: gid},
		{ID: id(kRule, g*8+2), Direction: "ingress", Ethertype: "IPv4", Protocol: "tcp",
			PortRangeMin: ptr(from), PortRangeMax: ptr(to), RemoteIPPrefix: netip.MustParsePrefix("198.51.100.0/24")},
		{ID: id(kRule, g*8+3), Direction: "ingress", Ethertype: "IPv4", Protocol: "icmp"},
	}})
	return gid
}

// write stores the topology at path atomically (a rename), so a polling
// agent never reads half a file.
func (b *builder) write(t testing.TB, path string) {
	t.Helper()
	raw, err := json.MarshalIndent(&b.Topology, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, raw)
}

func writeFile(t testing.TB, path string, raw []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// want is what a node must hold for a topology, by name: the owned devices
// in the node namespace (name -> ownership alias), the namespaces under the
// node prefix and the devices in each (without lo), and the NAT table of
// routers with a gateway.
type want struct {
	links      map[string]string
	namespaces map[string][]string
	nsTables   map[string][]string
}

// expect computes what host realizes of topo, from the naming rules alone:
// the independent side of the convergence checks.
func expect(topo *neutrino.Topology, host string) want {
	w := want{links: map[string]string{}, namespaces: map[string][]string{}, nsTables: map[string][]string{}}
	nets := map[string]network.Network{}
	for _, n := range topo.Networks {
		nets[n.ID] = n
	}
	routers := map[string]bool{}
	for _, r := range topo.Routers {
		routers[r.ID] = r.AdminStateUp == nil || *r.AdminStateUp
	}
	for _, p := range topo.Ports {
		if p.HostID != host {
			continue
		}
		n := nets[p.NetworkID]
		w.links[naming.Bridge(n.ID)] = naming.OwnerAlias("bridge", n.ID)
		if n.NetworkType == "vxlan" {
			w.links[naming.VXLAN(n.SegmentationID)] = naming.OwnerAlias("vxlan", n.ID)
		}
		switch p.DeviceOwner {
		case port.OwnerRouterInterface, port.OwnerRouterGateway:
			if !routers[p.DeviceID] {
				continue
			}
			w.links[naming.Tap(p.ID)] = naming.OwnerAlias("router-port", p.ID)
			ns := naming.RouterNamespace(p.DeviceID)
			dev := naming.RouterInterface(p.ID)
			if p.DeviceOwner == port.OwnerRouterGateway {
				dev = naming.RouterGateway(p.ID)
				w.nsTables[ns] = []string{"inet neutrino-router"}
			}
			w.namespaces[ns] = append(w.namespaces[ns], dev)
		case port.OwnerDHCP:
			w.links[naming.Tap(p.ID)] = naming.OwnerAlias("dhcp-port", p.ID)
			ns := naming.DHCPNamespace(p.NetworkID)
			w.namespaces[ns] = append(w.namespaces[ns], naming.DHCPInterface(p.ID))
		default:
			w.links[naming.Tap(p.ID)] = naming.OwnerAlias("port", p.ID)
		}
	}
	return w
}

// extNet is the index of the external network in generated topologies.
const extNet = 0

// bigTopology is the crash test's node: the flat external network and the
// VXLAN networks lo..hi-1 (even bounds), each with six instance taps in
// three security groups; a router per pair of networks with SNAT, an extra
// route and a floating IP; a DHCP server on every fourth network. rulePort
// is the TCP port the groups open, so that two versions differ in rules
// too. Windows that overlap share objects and differ in the rest.
func bigTopology(lo, hi, rulePort int) *builder {
	b := &builder{}
	b.host("node1", "198.18.0.1")
	b.flatNet(extNet, "203.0.113.0/24")
	groups := []string{b.group(1, rulePort, rulePort), b.group(2, rulePort, rulePort+10), b.group(3, 1, rulePort)}
	for i := lo; i < hi; i++ {
		dhcp := i%4 == 0
		b.vxlanNet(i, fmt.Sprintf("100.64.%d.0/24", i), dhcp)
		for k := range 6 {
			b.instance(i*8+k, i, 10+k, "node1", "", groups[k%3])
		}
		if dhcp {
			b.dhcpPort(i*8+7, i, "node1")
		}
	}
	for r := lo / 2; r < hi/2; r++ {
		b.router(r, extNet, 10+r, "node1", []int{2 * r, 2*r + 1},
			router.Route{Destination: netip.MustParsePrefix("198.51.100.0/24"), NextHop: b.hostAddr(2*r, 200)})
		b.fip(r, extNet, 100+r, r, 2*r*8)
	}
	return b
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
