package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
)

func TestMain(m *testing.M) { lab.Main(m) }

const (
	routerID = "a1000000-0000-4000-8000-000000000000"
	gwPortID = "b1000000-0000-4000-8000-000000000000"
	ifPortID = "b2000000-0000-4000-8000-000000000000"
)

// topology: a router on node n1 with a gateway on an external network, one
// tenant subnet and a floating IP for an instance on another node. The rest
// (MTUs, gateways, pools) comes from Topology.Defaults; the networks are
// local, as Defaults would make them vxlan, which needs a VNI.
const topology = `{
  "networks": [
    {"id": "e1000000-0000-4000-8000-000000000000", "router:external": true, "provider:network_type": "local"},
    {"id": "e2000000-0000-4000-8000-000000000000", "provider:network_type": "local"}
  ],
  "subnets": [
    {"id": "51000000-0000-4000-8000-000000000000", "network_id": "e1000000-0000-4000-8000-000000000000",
     "ip_version": 4, "cidr": "203.0.113.0/24", "enable_dhcp": false},
    {"id": "52000000-0000-4000-8000-000000000000", "network_id": "e2000000-0000-4000-8000-000000000000",
     "ip_version": 4, "cidr": "100.64.1.0/24", "enable_dhcp": false}
  ],
  "ports": [
    {"id": "` + gwPortID + `", "network_id": "e1000000-0000-4000-8000-000000000000",
     "mac_address": "fa:16:3e:00:00:01", "device_owner": "network:router_gateway", "device_id": "` + routerID + `",
     "binding:host_id": "n1", "fixed_ips": [{"subnet_id": "51000000-0000-4000-8000-000000000000", "ip_address": "203.0.113.10"}]},
    {"id": "` + ifPortID + `", "network_id": "e2000000-0000-4000-8000-000000000000",
     "mac_address": "fa:16:3e:00:00:02", "device_owner": "network:router_interface", "device_id": "` + routerID + `",
     "binding:host_id": "n1", "fixed_ips": [{"subnet_id": "52000000-0000-4000-8000-000000000000", "ip_address": "100.64.1.1"}]},
    {"id": "b3000000-0000-4000-8000-000000000000", "network_id": "e2000000-0000-4000-8000-000000000000",
     "mac_address": "fa:16:3e:00:00:03", "device_owner": "compute:nova", "binding:host_id": "n2",
     "fixed_ips": [{"subnet_id": "52000000-0000-4000-8000-000000000000", "ip_address": "100.64.1.5"}]}
  ],
  "routers": [
    {"id": "` + routerID + `", "external_gateway_info": {"network_id": "e1000000-0000-4000-8000-000000000000",
     "external_fixed_ips": [{"subnet_id": "51000000-0000-4000-8000-000000000000", "ip_address": "203.0.113.10"}]}}
  ],
  "floatingips": [
    {"id": "f1000000-0000-4000-8000-000000000000", "floating_ip_address": "203.0.113.20",
     "floating_network_id": "e1000000-0000-4000-8000-000000000000", "router_id": "` + routerID + `",
     "port_id": "b3000000-0000-4000-8000-000000000000", "fixed_ip_address": "100.64.1.5"}
  ]
}`

// TestOnceRealizesTheRouterIdempotently runs the built binary as a user
// would, against a lab namespace standing for the node.
func TestOnceRealizesTheRouterIdempotently(t *testing.T) {
	l := lab.New(t)
	node := l.Namespace("node")
	bin := buildAgent(t)
	file := filepath.Join(t.TempDir(), "topology.json")
	if err := os.WriteFile(file, []byte(topology), 0o600); err != nil {
		t.Fatal(err)
	}
	prefix := l.NodePrefix("n1")
	args := []string{"--topology", file, "--host", "n1", "--node-prefix", prefix, "--netns", node.Path(), "--once"}

	report := runOnce(t, bin, args...)
	t.Logf("first run:\n%s", report)
	first := mutations(t, report)
	if first["network"] == 0 || first["router"] == 0 {
		t.Fatalf("first run changed nothing: %v", first)
	}
	qrouter := prefix + naming.RouterNamespace(routerID)
	out, err := exec.Command("ip", "-n", qrouter, "-br", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("router namespace %s: %v\n%s", qrouter, err, out)
	}
	for _, want := range []string{naming.RouterGateway(gwPortID), "203.0.113.10/24", "203.0.113.20/32",
		naming.RouterInterface(ifPortID), "100.64.1.1/24"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s lacks %s:\n%s", qrouter, want, out)
		}
	}

	second := mutations(t, runOnce(t, bin, args...))
	if second["network"] != 0 || second["router"] != 0 {
		t.Errorf("second run is not a no-op: %v", second)
	}
}

func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runOnce runs the agent to completion and returns its standard output.
func runOnce(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\nstdout:\n%s\nstderr:\n%s", bin, args, err, out, stderr.String())
	}
	return string(out)
}

// mutations reads the "realizer: N mutations" lines of a report.
func mutations(t *testing.T, report string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^(\w+): (\d+) mutations$`).FindAllStringSubmatch(report, -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(got) == 0 {
		t.Fatalf("no report in the output:\n%s", report)
	}
	return got
}
