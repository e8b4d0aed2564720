package router

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/metadata/novatest"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

// mdWorld is the router world with the metadata path: the router
// realizer redirects 169.254.169.254:80 to the metadata Realizer's
// listener in the router namespace, which forwards, signed, to a Nova
// stand-in on the node namespace's loopback.
type mdWorld struct {
	*world
	md    *metadata.Realizer
	nova  *novatest.Nova
	ports []port.Port // the document's ports and the instances', with device IDs
}

const mdSecret = "metadata-test-secret"

func newMDWorld(t *testing.T) *mdWorld {
	lab.RequireRoot(t)
	lab.RequireCmd(t, "curl")
	w := &mdWorld{world: newWorld(t)}
	w.r = w.realizer(WithMetadataPort(metadata.RouterPort))
	w.apply(w.r)
	w.nova = novatest.New([]byte(mdSecret))
	var ln net.Listener
	require.NoError(t, w.host.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}))
	t.Cleanup(func() { _ = ln.Close() })
	go w.nova.Serve(ln)
	var err error
	w.md, err = metadata.NewRealizer(metadata.Config{NovaURL: "http://" + ln.Addr().String(), SharedSecret: []byte(mdSecret)},
		metadata.WithPrefix(w.l.NodePrefix("n1")), metadata.WithUpstreamNamespace(w.host))
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.md.Close() })
	w.ports = append([]port.Port(nil), w.b.d.Ports...)
	for _, p := range w.instances {
		p.DeviceID, p.ProjectID = "instance-"+p.ID, "project-"+p.ID
		w.ports = append(w.ports, p)
	}
	w.applyMD(w.router)
	return w
}

func (w *mdWorld) applyMD(routers ...string) *metadata.Report {
	w.t.Helper()
	rep, err := w.md.Apply(context.Background(), metadata.Desired{Routers: routers, Ports: w.ports})
	require.NoError(w.t, err)
	return rep
}

// instancePort is the port of the instance with address ip.
func (w *mdWorld) instancePort(ip string) port.Port {
	for _, p := range w.ports {
		if p.DeviceOwner == "compute:nova" && p.FixedIPs[0].IPAddress.String() == ip {
			return p
		}
	}
	w.t.Fatalf("no instance at %s", ip)
	return port.Port{}
}

// curl fetches url from h and returns the status code and body.
func curl(t *testing.T, l *lab.Lab, h *namespace.Handle, args ...string) (string, error) {
	t.Helper()
	argv := append([]string{"curl", "-sS", "-m", "5", "-w", "\n%{http_code}"}, args...)
	return l.Run(h, 15*time.Second, argv...)
}

func TestMetadataThroughRouter(t *testing.T) {
	w := newMDWorld(t)
	for _, c := range []struct {
		vm *namespace.Handle
		ip string
	}{{w.vm1, "100.64.1.10"}, {w.vm2, "100.64.2.10"}} {
		p := w.instancePort(c.ip)
		// A forged instance ID and signature from the guest are overwritten.
		out, err := curl(t, w.l, c.vm, "-H", "X-Instance-ID: someone-else", "-H", "X-Instance-ID-Signature: forged",
			"-H", "X-Forwarded-For: 100.64.9.9", "http://169.254.169.254/openstack")
		require.NoError(t, err, out)
		assert.Equal(t, "instance="+p.DeviceID+" tenant="+p.ProjectID+"\n\n200", out)
		req, ok := w.nova.Last()
		require.True(t, ok)
		assert.Equal(t, novatest.Request{Path: "/openstack", ForwardedFor: c.ip, RouterID: w.router,
			InstanceID: p.DeviceID, TenantID: p.ProjectID, Signature: metadata.Sign([]byte(mdSecret), p.DeviceID), SignatureOK: true}, req)
	}
	st := w.md.Stats()
	assert.Equal(t, uint64(2), st.Requests["200"])
	assert.Equal(t, 1, st.Listeners)

	// A second Apply of the same state changes nothing.
	assert.Empty(t, w.applyMD(w.router).Changes)
	assert.Zero(t, w.apply(w.r).Mutations())
}

func TestMetadataSpoofedSourceIs404(t *testing.T) {
	w := newMDWorld(t)
	// An address no port holds, on vm1's interface.
	w.l.MustRun(w.vm1, "ip", "addr", "add", "100.64.1.99/24", "dev", "eth0")
	out, err := curl(t, w.l, w.vm1, "--interface", "100.64.1.99", "http://169.254.169.254/openstack")
	require.NoError(t, err, out)
	assert.True(t, strings.HasSuffix(out, "\n404"), out)
	assert.Contains(t, out, "router "+w.router)
	assert.Empty(t, w.nova.Requests(), "an unknown source reached Nova")
}

func TestMetadataListenerOnlyThroughRedirect(t *testing.T) {
	w := newMDWorld(t)
	// The listener's port on the gateway address, from outside: dropped.
	out, err := curl(t, w.l, w.ext, "-m", "2", "http://"+gwAddr+":9697/openstack")
	assert.Error(t, err, "the metadata listener answered from outside: %s", out)
}

func TestMetadataRouterRemovedStopsListener(t *testing.T) {
	w := newMDWorld(t)
	out, err := curl(t, w.l, w.vm1, "http://169.254.169.254/")
	require.NoError(t, err, out)
	rep := w.applyMD()
	assert.Equal(t, 1, rep.Deleted["listener"])
	assert.Zero(t, w.md.Stats().Listeners)
	out, err = curl(t, w.l, w.vm1, "http://169.254.169.254/")
	assert.Error(t, err, "answered after its router went: %s", out)

	// Back again, and the router realizer's redirect goes with the router.
	w.applyMD(w.router)
	out, err = curl(t, w.l, w.vm1, "http://169.254.169.254/")
	require.NoError(t, err, out)
	r := w.realizer(WithMetadataPort(0))
	rep2 := w.apply(r)
	assert.Contains(t, strings.Join(rep2.Changes, "\n"), "nft-table")
	out, err = curl(t, w.l, w.vm1, "-m", "2", "http://169.254.169.254/")
	assert.Error(t, err, "redirect still in place without WithMetadataPort: %s", out)
}
