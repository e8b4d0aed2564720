package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
)

func TestMain(m *testing.M) { lab.Main(m) }

const (
	networkID = "e3000000-0000-4000-8000-000000000000"
	dhcpPort  = "b4000000-0000-4000-8000-000000000000"
	vmMAC     = "fa:16:3e:00:00:05"
)

// topology: one network served by node n1's DHCP port, with one instance
// port, a local network. The rest (MTU, gateway, pool) comes from Defaults.
const topology = `{
  "networks": [{"id": "` + networkID + `", "provider:network_type": "local"}],
  "subnets": [
    {"id": "53000000-0000-4000-8000-000000000000", "network_id": "` + networkID + `",
     "ip_version": 4, "cidr": "100.64.2.0/24", "enable_dhcp": true}
  ],
  "ports": [
    {"id": "` + dhcpPort + `", "network_id": "` + networkID + `", "mac_address": "fa:16:3e:00:00:04",
     "device_owner": "network:dhcp", "device_id": "dhcp-n1", "binding:host_id": "n1",
     "fixed_ips": [{"subnet_id": "53000000-0000-4000-8000-000000000000", "ip_address": "100.64.2.2"}]},
    {"id": "b5000000-0000-4000-8000-000000000000", "network_id": "` + networkID + `", "mac_address": "` + vmMAC + `",
     "device_owner": "compute:nova", "binding:host_id": "n1",
     "fixed_ips": [{"subnet_id": "53000000-0000-4000-8000-000000000000", "ip_address": "100.64.2.5"}]}
  ]
}`

// setup makes a lab whose namespace "node" stands for node n1, writes the
// topology and builds the agent. It returns the agent's arguments.
func setup(t *testing.T) (l *lab.Lab, node *namespace.Handle, bin string, args []string) {
	t.Helper()
	l = lab.New(t)
	node = l.Namespace("node")
	file := filepath.Join(t.TempDir(), "topology.json")
	if err := os.WriteFile(file, []byte(topology), 0o600); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(t.TempDir(), "dhcp-agent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return l, node, bin, []string{"--topology", file, "--host", "n1", "--node-prefix", l.NodePrefix("n1"), "--netns", node.Path()}
}

func TestOnceMakesTheDHCPNamespaceIdempotently(t *testing.T) {
	l, _, bin, args := setup(t)
	args = append(args, "--once")

	first := mutations(t, runOnce(t, bin, args...))
	if first["network"] == 0 || first["dhcp"] == 0 {
		t.Fatalf("first run changed nothing: %v", first)
	}
	qdhcp := l.NodePrefix("n1") + naming.DHCPNamespace(networkID)
	out, err := exec.Command("ip", "-n", qdhcp, "-br", "addr", "show", naming.DHCPInterface(dhcpPort)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "100.64.2.2/24") {
		t.Fatalf("DHCP port in %s: %v\n%s", qdhcp, err, out)
	}

	// A new process starts its in-process server again (kinds server,
	// reservation, subnet); the kernel needs nothing more.
	report := runOnce(t, bin, args...)
	if second := mutations(t, report); second["network"] != 0 {
		t.Errorf("second run changed bridges:\n%s", report)
	}
	if kernel := regexp.MustCompile(`(?m)^  \w+ (namespace|veth|link|address|route|sysctl) .*`).FindAllString(report, -1); kernel != nil {
		t.Errorf("second run changed the kernel: %q", kernel)
	}
}

// TestServesUntilSIGTERM runs the agent as a daemon: an instance plugged
// into the network's bridge gets its fixed address from udhcpc, and SIGTERM
// ends the agent cleanly with the qdhcp namespace left in place.
func TestServesUntilSIGTERM(t *testing.T) {
	lab.RequireCmd(t, "udhcpc")
	l, node, bin, args := setup(t)
	cmd := exec.Command(bin, args...)
	var out lab.SafeBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Stop(cmd) })
	waitFor(t, &out, "dhcp: ")

	// The instance: a veth whose host end joins the bridge, with the port's MAC.
	vm := l.Namespace("vm")
	l.Link(node, "tapvm", nil, vm, "eth0", nil)
	l.MustRun(node, "ip", "link", "set", "tapvm", "master", naming.Bridge(networkID))
	l.MustRun(vm, "ip", "link", "set", "eth0", "address", vmMAC)
	lease := l.MustRun(vm, "udhcpc", "-f", "-q", "-n", "-i", "eth0", "-t", "10", "-T", "1", "-s", "/bin/true")
	if !strings.Contains(lease, "100.64.2.5") {
		t.Errorf("udhcpc got no lease of 100.64.2.5:\n%s", lease)
	}

	// Within one process a second pass changes nothing at all.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, "dhcp: 0 mutations")

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
	if _, err := os.Stat("/run/netns/" + l.NodePrefix("n1") + naming.DHCPNamespace(networkID)); err != nil {
		t.Errorf("qdhcp namespace gone after SIGTERM: %v", err)
	}
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

// waitFor waits (boundedly) until the agent's output contains s.
func waitFor(t *testing.T, out *lab.SafeBuffer, s string) {
	t.Helper()
	for range 300 {
		if strings.Contains(out.String(), s) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("agent never printed %q:\n%s", s, out.String())
}
