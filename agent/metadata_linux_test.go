package agent

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/metadata/novatest"
)

// With Config.Metadata the node serves metadata end to end: the router
// redirects, the agent's proxy signs, a Nova stand-in on the node's
// loopback sees each instance as its port's device_id.
func TestNodeServesMetadata(t *testing.T) {
	lab.RequireCmd(t, "curl")
	f := newFixture(t)
	nova := novatest.New([]byte("node-secret"))
	var ln net.Listener
	if err := f.host.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go nova.Serve(ln)
	node, err := New(f.host, Config{Host: "node1", Prefix: f.l.NodePrefix("node1"),
		PhysicalInterfaceMappings: map[string]string{"physnet1": "ext0"},
		Metadata:                  &metadata.Config{NovaURL: "http://" + ln.Addr().String(), SharedSecret: []byte("node-secret")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = node.Close() })
	f.node = node
	rep := f.apply(t)
	if !strings.Contains(strings.Join(stepNames(rep), " "), "dhcp metadata secgroup") {
		t.Errorf("steps %v: metadata should run right after dhcp", stepNames(rep))
	}
	if rep := f.apply(t); rep.Mutations() != 0 {
		t.Errorf("second Apply: %d mutations\n%s", rep.Mutations(), rep)
	}
	for i := range f.topo.Ports {
		p := &f.topo.Ports[i]
		vm := f.vms[p.Profile.NetNS]
		if vm == nil {
			continue
		}
		out, err := f.l.Run(vm, 15*time.Second, "curl", "-sS", "-m", "5", "http://169.254.169.254/openstack")
		if err != nil || !strings.HasPrefix(out, "instance="+p.DeviceID+" ") {
			t.Errorf("%s: %q %v, want instance %s", p.Profile.NetNS, out, err, p.DeviceID)
			continue
		}
		req, _ := nova.Last()
		if !req.SignatureOK || req.RouterID == "" || req.ForwardedFor != p.FixedIPs[0].IPAddress.String() {
			t.Errorf("%s: Nova saw %+v", p.Profile.NetNS, req)
		}
	}
	if st := node.MetadataStats(); st.Listeners != 3 { // one router, two DHCP networks
		t.Errorf("%d listeners, want 3", st.Listeners)
	}
	rep, err = node.Destroy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if node.MetadataStats().Listeners != 0 {
		t.Errorf("listeners left after Destroy: %s", rep)
	}
}
