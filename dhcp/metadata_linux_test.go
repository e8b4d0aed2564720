package dhcp

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/metadata/novatest"
	"github.com/neutrino-net/neutrino/port"
)

// An isolated network (no router port) with isolated metadata: the DHCP
// namespace holds 169.254.169.254 and fe80::a9fe:a9fe, the metadata
// Realizer listens there, and instances reach a Nova stand-in over IPv4
// and IPv6 with their instance signed.
func TestIsolatedMetadataFromRealInstance(t *testing.T) {
	lab.RequireRoot(t)
	lab.RequireCmd(t, "curl")
	const secret = "isolated-secret"
	w := newWorld(t)
	in := testInput()
	var ports []port.Port
	for _, p := range in.Ports {
		if p.DeviceOwner != port.OwnerRouterInterface {
			ports = append(ports, p)
		}
	}
	in.Ports = ports
	w.bridge(in.Network)
	vm := w.instance("vm1", in.Ports[1])
	w.l.Up(vm, "eth0", "100.64.10.10/24")
	r := w.realizer(WithSettings(Settings{IsolatedMetadata: true}))
	d := desiredOf(in)
	apply(t, r, d)
	requireIdle(t, r, d)

	nova := novatest.New([]byte(secret))
	var ln net.Listener
	must(t, w.host.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}))
	t.Cleanup(func() { _ = ln.Close() })
	go nova.Serve(ln)
	md, err := metadata.NewRealizer(metadata.Config{NovaURL: "http://" + ln.Addr().String(), SharedSecret: []byte(secret)},
		metadata.WithPrefix(w.l.NodePrefix("n1")), metadata.WithUpstreamNamespace(w.host))
	must(t, err)
	t.Cleanup(func() { _ = md.Close() })
	mdPorts := append([]port.Port(nil), in.Ports...)
	mdPorts[1].DeviceID, mdPorts[1].ProjectID = "instance-vm1", "project-1"
	_, err = md.Apply(context.Background(), metadata.Desired{
		Networks: []metadata.Network{{ID: in.Network.ID, DHCPPortID: in.DHCPPortID, IPv6: true}}, Ports: mdPorts})
	must(t, err)

	// The route option 121 hands out on an isolated subnet.
	w.l.MustRun(vm, "ip", "route", "add", "169.254.169.254/32", "via", "100.64.10.2")
	get := func(args ...string) string {
		t.Helper()
		out, err := w.l.Run(vm, 15*time.Second, append([]string{"curl", "-sS", "-m", "5", "-w", "\n%{http_code}"}, args...)...)
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return out
	}
	check := func(src string) {
		t.Helper()
		req, ok := nova.Last()
		want := novatest.Request{Path: "/openstack/latest/meta_data.json", ForwardedFor: src, NetworkID: in.Network.ID,
			InstanceID: "instance-vm1", TenantID: "project-1", Signature: metadata.Sign([]byte(secret), "instance-vm1"), SignatureOK: true}
		if !ok || req != want {
			t.Errorf("Nova saw %+v, want %+v", req, want)
		}
	}
	if out := get("-H", "X-Instance-ID: forged", "http://169.254.169.254/openstack/latest/meta_data.json"); out != "instance=instance-vm1 tenant=project-1\n\n200" {
		t.Fatalf("IPv4: %q", out)
	}
	check("100.64.10.10")

	// IPv6: the guest's EUI-64 link-local address resolves by its MAC.
	out := get("-g", "http://[fe80::a9fe:a9fe%eth0]/openstack/latest/meta_data.json")
	if out != "instance=instance-vm1 tenant=project-1\n\n200" {
		t.Fatalf("IPv6: %q", out)
	}
	req, _ := nova.Last()
	if !strings.HasPrefix(req.ForwardedFor, "fe80::") {
		t.Errorf("IPv6 X-Forwarded-For %q", req.ForwardedFor)
	}
	check(req.ForwardedFor)

	// A source no port holds.
	n := len(nova.Requests())
	w.l.MustRun(vm, "ip", "addr", "add", "100.64.10.99/24", "dev", "eth0")
	if out := get("--interface", "100.64.10.99", "http://169.254.169.254/openstack"); !strings.HasSuffix(out, "\n404") || !strings.Contains(out, "network "+in.Network.ID) {
		t.Errorf("spoofed source: %q, want 404 naming the network", out)
	}
	if len(nova.Requests()) != n {
		t.Error("a spoofed source reached Nova")
	}

	// The network goes: so does its listener.
	rep, err := md.Apply(context.Background(), metadata.Desired{Ports: mdPorts})
	must(t, err)
	if rep.Deleted["listener"] != 1 || md.Stats().Listeners != 0 {
		t.Errorf("removal: %v, %d listeners", rep.Changes, md.Stats().Listeners)
	}
	if out, err := w.l.Run(vm, 15*time.Second, "curl", "-sS", "-m", "3", "http://169.254.169.254/openstack"); err == nil {
		t.Errorf("answered after the network went: %q", out)
	}
}
