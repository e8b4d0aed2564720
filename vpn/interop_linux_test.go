package vpn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/agent"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/vpn"
)

func TestMain(m *testing.M) { lab.Main(m) }

// site is one cloud: a node namespace run by a Neutrino agent with a
// router (gateway on the "internet" namespace through ext0) and an
// instance on a tenant subnet behind it.
type site struct {
	name            string
	tenant, vm, ext string // tenant CIDR, instance IP, router's external IP
	extCIDR, extGW  string
	node            *agent.Node
	host, inst      *namespace.Handle
	topo            *neutrino.Topology
	prefix, router  string
	runDir          string
	userspace       bool
}

const (
	siteDoc = `{
 "networks": [
  {"id": "%[1]s-public", "router:external": true, "mtu": 1500, "provider:network_type": "flat", "provider:physical_network": "physnet1"},
  {"id": "%[1]s-tenant", "mtu": 1450, "provider:network_type": "vxlan", "provider:segmentation_id": 100}],
 "subnets": [
  {"id": "%[1]s-public-v4", "network_id": "%[1]s-public", "ip_version": 4, "cidr": "%[2]s", "gateway_ip": "%[3]s", "enable_dhcp": false},
  {"id": "%[1]s-tenant-v4", "network_id": "%[1]s-tenant", "ip_version": 4, "cidr": "%[4]s", "gateway_ip": "%[5]s", "enable_dhcp": false}],
 "routers": [{"id": "%[1]s-router", "external_gateway_info": {"network_id": "%[1]s-public",
   "external_fixed_ips": [{"subnet_id": "%[1]s-public-v4", "ip_address": "%[6]s"}]}}],
 "ports": [
  {"id": "%[1]s-gw", "network_id": "%[1]s-public", "mac_address": "fa:16:3e:%[8]s:00:01", "device_owner": "network:router_gateway",
   "device_id": "%[1]s-router", "binding:host_id": "%[1]s", "fixed_ips": [{"subnet_id": "%[1]s-public-v4", "ip_address": "%[6]s"}]},
  {"id": "%[1]s-if", "network_id": "%[1]s-tenant", "mac_address": "fa:16:3e:%[8]s:00:02", "device_owner": "network:router_interface",
   "device_id": "%[1]s-router", "binding:host_id": "%[1]s", "fixed_ips": [{"subnet_id": "%[1]s-tenant-v4", "ip_address": "%[5]s"}]},
  {"id": "%[1]s-vm", "network_id": "%[1]s-tenant", "mac_address": "fa:16:3e:%[8]s:00:03", "device_owner": "compute:nova",
   "device_id": "%[1]s-instance", "binding:host_id": "%[1]s", "port_security_enabled": false,
   "fixed_ips": [{"subnet_id": "%[1]s-tenant-v4", "ip_address": "%[7]s"}],
   "binding:profile": {"netns": "%[9]s", "ifname": "eth0", "configure_ips": true}}],
 "hosts": [{"name": "%[1]s", "tunnel_ip": "%[10]s"}],
 "ikepolicies": [{"id": "ike", "ike_version": "v2", "encryption_algorithm": "aes-256", "auth_algorithm": "sha256", "pfs": "group14"}],
 "ipsecpolicies": [{"id": "esp", "encryption_algorithm": "aes-256", "auth_algorithm": "sha256", "pfs": "group14"}],
 "vpnservices": [{"id": "%[1]s-vpn", "router_id": "%[1]s-router", "subnet_id": "%[1]s-tenant-v4"}]
}`
)

func newSite(t testing.TB, l *lab.Lab, internet *namespace.Handle, userspace bool, name, extCIDR, extGW, ext, tenant, gw, vm, mac string) *site {
	t.Helper()
	s := &site{name: name, tenant: tenant, vm: vm, ext: ext, extCIDR: extCIDR, extGW: extGW, prefix: l.NodePrefix(name), router: name + "-router"}
	s.host = l.Namespace(name)
	s.inst = l.Namespace(name + "-vm")
	// ext0 carries the site's external network (physnet1) to the internet
	// namespace, which routes between the sites.
	bits := extCIDR[strings.Index(extCIDR, "/"):]
	l.Link(s.host, "ext0", nil, internet, "to-"+name, []string{extGW + bits})
	// The tenant network is VXLAN: the node needs a tunnel address, on a
	// link that leads nowhere (the network spans one node).
	tunnel := "198.18.0." + map[string]string{"sa": "1", "sb": "2"}[name]
	l.Link(s.host, "underlay", []string{tunnel + "/32"}, internet, "ul-"+name, nil)
	doc := fmt.Sprintf(siteDoc, name, extCIDR, extGW, tenant, gw, ext, vm, mac, l.Manager().Path(name+"-vm"), tunnel)
	s.topo = &neutrino.Topology{}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s.topo); err != nil {
		t.Fatal(err)
	}
	s.runDir = t.TempDir()
	s.userspace = userspace
	s.start(t)
	t.Cleanup(func() {
		// Destroy stops charon before the router namespace goes.
		if _, err := s.node.Destroy(context.Background()); err != nil {
			t.Errorf("destroy %s: %v", name, err)
		}
		_ = s.node.Close()
	})
	return s
}

// start makes the site's agent (again, as after a restart).
func (s *site) start(t testing.TB) {
	t.Helper()
	node, err := agent.New(s.host, agent.Config{Host: s.name, Prefix: s.prefix,
		PhysicalInterfaceMappings: map[string]string{"physnet1": "ext0"},
		VPNOptions: []vpn.Option{vpn.WithUserspaceESP(s.userspace), vpn.WithRunDir(s.runDir),
			// A killed test binary must not leave daemons behind.
			vpn.WithDaemonsBoundToProcess(true)}})
	if err != nil {
		t.Fatal(err)
	}
	s.node = node
}

// connect adds to s a connection to peer's router and subnet.
func (s *site) connect(id string, peer *site, psk string) {
	s.topo.IPsecSiteConnections = append(s.topo.IPsecSiteConnections, vpn.SiteConnection{
		ID: id, VPNServiceID: s.name + "-vpn", IKEPolicyID: "ike", IPsecPolicyID: "esp",
		PeerAddress: peer.ext, PeerID: peer.ext, PeerCIDRs: mustPrefixes(peer.tenant), PSK: vpn.Secret(psk)})
}

func (s *site) apply(t testing.TB) *agent.Report {
	t.Helper()
	rep, err := s.node.Apply(context.Background(), s.topo)
	if err != nil {
		t.Fatalf("apply %s: %v\n%s", s.name, err, rep)
	}
	return rep
}

func (s *site) routerNS(t testing.TB) *namespace.Handle {
	t.Helper()
	h, err := namespace.NewManager(s.prefix).Open(naming.RouterNamespace(s.router))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// waitActive applies s until its connection id is ACTIVE, or fails.
func (s *site) waitActive(t testing.TB, id string) {
	t.Helper()
	s.waitStatus(t, id, vpn.StatusActive)
}

// waitStatus applies s until its connection id has the status want (and,
// when DOWN, a reason), or fails.
func (s *site) waitStatus(t testing.TB, id, want string) vpn.ConnStatus {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s.apply(t)
		st := s.node.VPNStatus()[id]
		if st.Status == want && (want == vpn.StatusActive || st.Reason != "") {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: connection %s is %s (%s)", s.name, id, st.Status, st.Reason)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func mustPrefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, v := range s {
		out[i] = netip.MustParsePrefix(v)
	}
	return out
}

// requireIPsec skips unless root with charon, its kernel-libipsec plugin
// and a TUN device.
func requireIPsec(t testing.TB) {
	t.Helper()
	lab.RequireRoot(t)
	lab.RequireCmd(t, "ping", "tcpdump")
	for _, f := range []string{vpn.DefaultCharon, "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("strongSwan missing (%v): scripts/install-deps.sh installs charon-systemd and libcharon-extra-plugins", err)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("kernel-libipsec needs /dev/net/tun: %v", err)
	}
}

// twoSites builds sites A and B joined by an internet namespace, each with
// a connection to the other.
func twoSites(t testing.TB, userspace bool) (*lab.Lab, *namespace.Handle, *site, *site) {
	l := lab.New(t)
	internet := l.Namespace("internet")
	if err := internet.Sysctl("net/ipv4/ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	a := newSite(t, l, internet, userspace, "sa", "198.51.100.0/24", "198.51.100.1", "198.51.100.10", "100.64.1.0/24", "100.64.1.1", "100.64.1.10", "0a")
	b := newSite(t, l, internet, userspace, "sb", "203.0.113.0/24", "203.0.113.1", "203.0.113.10", "100.64.2.0/24", "100.64.2.1", "100.64.2.10", "0b")
	a.connect("a-to-b", b, "correct horse battery staple")
	b.connect("b-to-a", a, "correct horse battery staple")
	// B waits for A: two initiators race to duplicate IKE SAs, which
	// charon settles by deleting one, and the test wants stable SAs.
	b.topo.IPsecSiteConnections[0].Initiator = vpn.ResponseOnly
	return l, internet, a, b
}

// TestSiteToSite connects two sites realized by Neutrino agents: over the
// kernel's XFRM (the production path), and over strongSwan's user-space ESP
// (kernel-libipsec), the path kernels without ESP transforms can run.
func TestSiteToSite(t *testing.T) {
	t.Run("kernel-libipsec", func(t *testing.T) { siteToSite(t, true) })
	t.Run("xfrm", func(t *testing.T) {
		requireKernelESP(t)
		siteToSite(t, false)
	})
}

func siteToSite(t testing.TB, userspace bool) {
	requireIPsec(t)
	l, internet, a, b := twoSites(t, userspace)
	a.apply(t)
	b.apply(t)
	a.waitActive(t, "a-to-b")
	b.waitActive(t, "b-to-a")

	// Capture what crosses the internet while the instances talk.
	capture, wire := l.Start(internet, "tcpdump", "-n", "-l", "-i", "to-sb", "-c", "200", "ip")
	time.Sleep(time.Second) // tcpdump needs a moment to attach

	if out, err := l.Run(a.inst, 20*time.Second, "ping", "-c3", "-i0.3", "-W3", b.vm); err != nil {
		t.Fatalf("ping %s from site A's instance: %v\n%s", b.vm, err, out)
	}
	// TCP, and the far side sees the near instance's fixed IP: no SNAT.
	seen := make(chan string, 1)
	var ln net.Listener
	if err := b.inst.Do(func() (err error) { ln, err = net.Listen("tcp", b.vm+":7000"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		seen <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		_, _ = c.Write([]byte("hello from B\n"))
		c.Close()
	}()
	var reply string
	if err := a.inst.Do(func() error {
		c, err := net.DialTimeout("tcp", b.vm+":7000", 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		reply = string(buf[:n])
		return err
	}); err != nil {
		t.Fatalf("TCP from A's instance to B's: %v", err)
	}
	if from := <-seen; from != a.vm || reply != "hello from B\n" {
		t.Fatalf("B saw the connection from %s (want %s, untranslated); reply %q", from, a.vm, reply)
	}
	time.Sleep(500 * time.Millisecond)
	lab.Stop(capture)
	// On the wire between the sites: ESP in UDP 4500 between the routers'
	// external addresses, never the instances' addresses.
	out := wire.String()
	if strings.Contains(out, a.vm) || strings.Contains(out, b.vm) {
		t.Fatalf("tenant addresses in clear on the internet:\n%s", out)
	}
	if !strings.Contains(out, "UDP-encap: ESP") && !strings.Contains(out, "ESP(spi=") {
		t.Fatalf("no ESP seen between the sites:\n%s", out)
	}
	t.Logf("wire sample:\n%s", head(out, 6))

	// The router's NAT exempts the peer subnet.
	if nat := l.MustOutput(a.routerNS(t), "nft", "list", "chain", "inet", "neutrino-router", "postrouting"); !strings.Contains(nat, b.tenant) {
		t.Errorf("no no-SNAT rule for %s in site A's router:\n%s", b.tenant, nat)
	}

	// A second Apply changes nothing.
	if rep := a.apply(t); rep.Mutations() != 0 {
		t.Errorf("second apply: %s", rep)
	}

	// A charon that dies is started again, its connections loaded again.
	pid, err := os.ReadFile(filepath.Join(a.runDir, a.router, "charon.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("kill", "-9", strings.TrimSpace(string(pid))).CombinedOutput(); err != nil {
		t.Fatalf("kill charon: %v %s", err, out)
	}
	time.Sleep(200 * time.Millisecond)
	if rep := a.apply(t); !strings.Contains(fmt.Sprint(rep.Steps), "create charon sa-router") {
		t.Errorf("a dead charon was not started again: %v", rep.Steps)
	}
	a.waitActive(t, "a-to-b")
	if out, err := l.Run(a.inst, 20*time.Second, "ping", "-c2", "-i0.3", "-W3", b.vm); err != nil {
		t.Fatalf("ping after charon's restart: %v\n%s", err, out)
	}

	// A restarted agent adopts the running charon: it loads nothing again
	// and reads the connection's status from charon.
	if err := a.node.Close(); err != nil {
		t.Fatal(err)
	}
	a.start(t)
	if rep := a.apply(t); strings.Contains(fmt.Sprint(rep.Steps), "charon") || strings.Contains(fmt.Sprint(rep.Steps), "ipsec-connection") {
		t.Errorf("the restarted agent changed the VPN: %v", rep.Steps)
	}
	if st := a.node.VPNStatus()["a-to-b"]; st.Status != vpn.StatusActive {
		t.Errorf("after the agent's restart a-to-b is %s (%s)", st.Status, st.Reason)
	}

	// Tearing the connection down unloads it, and the daemon with it.
	a.topo.IPsecSiteConnections = nil
	rep := a.apply(t)
	if !strings.Contains(fmt.Sprint(rep.Steps), "delete charon sa-router") {
		t.Errorf("teardown report: %v", rep.Steps)
	}
	if _, err := l.Run(a.inst, 5*time.Second, "ping", "-c1", "-W2", b.vm); err == nil {
		t.Error("site B still reachable through a deleted connection")
	}
	if links := l.MustOutput(a.routerNS(t), "ip", "-o", "link"); strings.Contains(links, "ipsec0") {
		t.Errorf("charon left its TUN device:\n%s", links)
	}
	if nat := l.MustOutput(a.routerNS(t), "nft", "list", "chain", "inet", "neutrino-router", "postrouting"); strings.Contains(nat, b.tenant) {
		t.Errorf("no-SNAT rule for %s outlived the connection:\n%s", b.tenant, nat)
	}
}

func head(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// requireKernelESP skips unless the kernel takes an ESP state.
func requireKernelESP(t testing.TB) {
	lab.RequireRoot(t)
	lab.RequireCmd(t, "ip")
	l := lab.New(t)
	h := l.Namespace("xfrm-probe")
	if out, err := l.Run(h, 5*time.Second, "ip", "xfrm", "state", "add", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp",
		"spi", "0x100", "mode", "tunnel", "aead", "rfc4106(gcm(aes))", "0x0102030405060708090a0b0c0d0e0f1011121314", "128"); err != nil {
		t.Skipf("this kernel has no ESP transforms (ip xfrm state add ... proto esp: %v: %s): the XFRM dataplane "+
			"cannot run here; the kernel-libipsec subtest runs the same vici configuration", err, strings.TrimSpace(out))
	}
}
