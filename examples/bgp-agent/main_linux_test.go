package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
)

func TestMain(m *testing.M) { lab.Main(m) }

// topology: node n1 runs a speaker (AS 64512) on the external network, with
// one peer (AS 64513). Router r1's gateway is there; behind it a tenant
// subnet in the external subnet's address scope and a floating IP: both
// are announced with the router's gateway address as next hop.
const topology = `{
  "address_scopes": [{"id": "5c000000-0000-4000-8000-000000000000", "ip_version": 4}],
  "subnetpools": [{"id": "50000000-0000-4000-8000-000000000000", "address_scope_id": "5c000000-0000-4000-8000-000000000000",
    "prefixes": ["203.0.113.0/24", "100.64.1.0/24"]}],
  "networks": [
    {"id": "e1000000-0000-4000-8000-000000000000", "router:external": true, "provider:network_type": "local"},
    {"id": "e2000000-0000-4000-8000-000000000000", "provider:network_type": "local"}
  ],
  "subnets": [
    {"id": "51000000-0000-4000-8000-000000000000", "network_id": "e1000000-0000-4000-8000-000000000000",
     "ip_version": 4, "cidr": "203.0.113.0/24", "subnetpool_id": "50000000-0000-4000-8000-000000000000"},
    {"id": "52000000-0000-4000-8000-000000000000", "network_id": "e2000000-0000-4000-8000-000000000000",
     "ip_version": 4, "cidr": "100.64.1.0/24", "subnetpool_id": "50000000-0000-4000-8000-000000000000"}
  ],
  "ports": [
    {"id": "b1000000-0000-4000-8000-000000000000", "network_id": "e1000000-0000-4000-8000-000000000000",
     "mac_address": "fa:16:3e:00:00:01", "device_owner": "network:router_gateway", "device_id": "a1000000-0000-4000-8000-000000000000",
     "binding:host_id": "n2", "fixed_ips": [{"subnet_id": "51000000-0000-4000-8000-000000000000", "ip_address": "203.0.113.10"}]},
    {"id": "b2000000-0000-4000-8000-000000000000", "network_id": "e2000000-0000-4000-8000-000000000000",
     "mac_address": "fa:16:3e:00:00:02", "device_owner": "network:router_interface", "device_id": "a1000000-0000-4000-8000-000000000000",
     "binding:host_id": "n2", "fixed_ips": [{"subnet_id": "52000000-0000-4000-8000-000000000000", "ip_address": "100.64.1.1"}]},
    {"id": "b3000000-0000-4000-8000-000000000000", "network_id": "e2000000-0000-4000-8000-000000000000",
     "mac_address": "fa:16:3e:00:00:03", "device_owner": "compute:nova", "binding:host_id": "n2",
     "fixed_ips": [{"subnet_id": "52000000-0000-4000-8000-000000000000", "ip_address": "100.64.1.5"}]}
  ],
  "routers": [
    {"id": "a1000000-0000-4000-8000-000000000000", "external_gateway_info": {"network_id": "e1000000-0000-4000-8000-000000000000"}}
  ],
  "floatingips": [
    {"id": "f1000000-0000-4000-8000-000000000000", "floating_ip_address": "203.0.113.20",
     "floating_network_id": "e1000000-0000-4000-8000-000000000000", "router_id": "a1000000-0000-4000-8000-000000000000",
     "port_id": "b3000000-0000-4000-8000-000000000000", "fixed_ip_address": "100.64.1.5"}
  ],
  "bgp_speakers": [{"id": "5b000000-0000-4000-8000-000000000000", "local_as": 64512, "ip_version": 4,
    "networks": ["e1000000-0000-4000-8000-000000000000"], "peers": ["5e000000-0000-4000-8000-000000000000"]}],
  "bgp_peers": [{"id": "5e000000-0000-4000-8000-000000000000", "peer_ip": "100.64.0.2", "remote_as": 64513}],
  "hosts": [{"name": "n1", "tunnel_ip": "100.64.0.1", "bgp_speakers": ["5b000000-0000-4000-8000-000000000000"]},
            {"name": "n2", "tunnel_ip": "100.64.0.3"}]
}`

// TestPeerLearnsTheRoutes runs the agent inside a node namespace (--netns,
// so through nsenter) against a real gobgpd in a peer namespace.
func TestPeerLearnsTheRoutes(t *testing.T) {
	lab.RequireCmd(t, "gobgpd", "gobgp", "nsenter")
	l := lab.New(t)
	node, peer := l.Namespace("node"), l.Namespace("peer")
	l.Link(node, "eth0", []string{"100.64.0.1/24"}, peer, "eth0", []string{"100.64.0.2/24"})
	dir := t.TempDir()

	// The peer: a passive gobgpd; the test reads its RIB with the gobgp CLI
	// over a unix socket, reachable from any namespace.
	conf, sock := filepath.Join(dir, "gobgpd.toml"), "unix://"+filepath.Join(dir, "api.sock")
	writeFile(t, conf, `[global.config]
  as = 64513
  router-id = "100.64.0.2"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "100.64.0.1"
    peer-as = 64512
  [neighbors.transport.config]
    passive-mode = true
`)
	_, daemonLog := l.Start(peer, "gobgpd", "-f", conf, "--api-hosts", sock, "--pprof-disable", "-p")
	rib := func() string {
		out, _ := exec.Command("gobgp", "--target", sock, "global", "rib", "-a", "ipv4").CombinedOutput()
		return string(out)
	}
	eventually(t, "gobgpd up", daemonLog, func() bool {
		return exec.Command("gobgp", "--target", sock, "global").Run() == nil
	})

	file := filepath.Join(dir, "topology.json")
	writeFile(t, file, topology)
	bin := filepath.Join(dir, "bgp-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--topology", file, "--host", "n1", "--netns", node.Path())
	var out lab.SafeBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Stop(cmd) })

	eventually(t, "the peer learns the tenant subnet and the floating IP", &out, func() bool {
		r := rib()
		return strings.Contains(r, "100.64.1.0/24") && strings.Contains(r, "203.0.113.20/32") &&
			strings.Contains(r, "203.0.113.10")
	})

	// A second pass (SIGHUP) announces nothing new.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a no-op second pass", &out, func() bool { return strings.Contains(out.String(), "bgp: 0 mutations") })

	// SIGTERM: clean exit, sessions closed, routes withdrawn at the peer.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent exit after SIGTERM: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("agent still running 30 s after SIGTERM:\n%s", out.String())
	}
	eventually(t, "the peer withdraws the routes", &out, func() bool { return !strings.Contains(rib(), "100.64.1.0/24") })
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond for up to 30 s; on failure it shows log.
func eventually(t *testing.T, what string, log fmt.Stringer, cond func() bool) {
	t.Helper()
	for range 300 {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s:\n%s", what, log)
}
