package metadata

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/metadata/novatest"
	"github.com/neutrino-net/neutrino/port"
)

// 100 router namespaces, each with a listener, joined to one guest
// namespace by a veth per router (100.64.i.0/24); one request per router
// at once, each answered for its own instance and router.
func TestHundredRoutersServeConcurrently(t *testing.T) {
	lab.RequireRoot(t)
	const n = 100
	l := lab.New(t)
	node, guest := l.Namespace("node"), l.Namespace("guest")
	nova := novatest.New([]byte("s"))
	var ln net.Listener
	must(t, node.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}))
	t.Cleanup(func() { ln.Close() })
	go nova.Serve(ln)

	d := Desired{}
	for i := range n {
		id := fmt.Sprintf("r%d", i)
		rns := l.Namespace("n1-" + naming.RouterNamespace(id))
		l.Link(rns, "qr-x", []string{fmt.Sprintf("100.64.%d.1/24", i)}, guest, fmt.Sprintf("g%d", i), []string{fmt.Sprintf("100.64.%d.2/24", i)})
		net := fmt.Sprintf("net%d", i)
		d.Routers = append(d.Routers, id)
		d.Ports = append(d.Ports,
			port.Port{ID: "ri" + id, NetworkID: net, DeviceOwner: port.OwnerRouterInterface, DeviceID: id},
			port.Port{ID: "vm" + id, NetworkID: net, DeviceID: "instance-" + id, ProjectID: "p",
				FixedIPs: []port.FixedIP{{SubnetID: "s", IPAddress: mustAddr(fmt.Sprintf("100.64.%d.2", i))}}})
	}
	r, err := NewRealizer(Config{NovaURL: "http://" + ln.Addr().String(), SharedSecret: []byte("s")},
		WithPrefix(l.NodePrefix("n1")), WithUpstreamNamespace(node))
	must(t, err)
	t.Cleanup(func() { r.Close() })
	rep, err := r.Apply(context.Background(), d)
	must(t, err)
	if rep.Created["listener"] != n {
		t.Fatalf("created %d listeners, want %d", rep.Created["listener"], n)
	}
	if rep, err := r.Apply(context.Background(), d); err != nil || len(rep.Changes) != 0 {
		t.Fatalf("second Apply: %v %v", rep.Changes, err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("100.64.%d.2", i))}
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (c net.Conn, err error) {
				err = guest.Do(func() error {
					var err error
					c, err = (&net.Dialer{LocalAddr: src, Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
					return err
				})
				return c, err
			}}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get(fmt.Sprintf("http://100.64.%d.1:%d/latest", i, RouterPort))
			if err != nil {
				errs <- fmt.Errorf("router %d: %w", i, err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("instance=instance-r%d tenant=p\n", i); string(body) != want {
				errs <- fmt.Errorf("router %d: %d %q, want %q", i, resp.StatusCode, body, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	byRouter := map[string]string{}
	for _, req := range nova.Requests() {
		if !req.SignatureOK {
			t.Errorf("bad signature from router %s", req.RouterID)
		}
		byRouter[req.RouterID] = req.InstanceID
	}
	for i := range n {
		if got := byRouter[fmt.Sprintf("r%d", i)]; got != fmt.Sprintf("instance-r%d", i) {
			t.Errorf("router r%d: Nova saw instance %q", i, got)
		}
	}
	if st := r.Stats(); st.Listeners != n || st.Requests["200"] != n {
		t.Errorf("stats %+v", st)
	}

	// Half the routers go: their listeners close, the others stay.
	d.Routers = d.Routers[:n/2]
	rep, err = r.Apply(context.Background(), d)
	must(t, err)
	if rep.Deleted["listener"] != n/2 || r.Stats().Listeners != n/2 {
		t.Errorf("after removing %d routers: %s", n/2, strings.Join(rep.Changes[:min(3, len(rep.Changes))], "; "))
	}
}

// A router namespace deleted and made again under the same name gets a
// new listener on the next Apply; a missing namespace is an error naming
// the router, and the other routers are served.
func TestListenerFollowsNamespace(t *testing.T) {
	lab.RequireRoot(t)
	l := lab.New(t)
	l.Namespace("n1-" + naming.RouterNamespace("a"))
	r, err := NewRealizer(Config{NovaURL: "http://127.0.0.1:1", SharedSecret: []byte("s")}, WithPrefix(l.NodePrefix("n1")))
	must(t, err)
	t.Cleanup(func() { r.Close() })
	d := Desired{Routers: []string{"a", "missing"}}
	plan, err := r.Plan(context.Background(), d)
	if err != nil || plan.Created["listener"] != 2 || r.Stats().Listeners != 0 {
		t.Fatalf("Plan = %v, %v, %d listeners open; want two planned, none open", plan.Changes, err, r.Stats().Listeners)
	}
	rep, err := r.Apply(context.Background(), d)
	if err == nil || !strings.Contains(err.Error(), "router missing") || rep.Created["listener"] != 1 {
		t.Fatalf("Apply = %v, %v; want router a served and an error naming router missing", rep.Changes, err)
	}
	mgr := l.Manager()
	must(t, mgr.Delete("n1-"+naming.RouterNamespace("a")))
	h, _, err := mgr.Ensure("n1-" + naming.RouterNamespace("a"))
	must(t, err)
	t.Cleanup(func() { h.Close() })
	l.Up(h, "lo")
	d.Routers = []string{"a"}
	rep, err = r.Apply(context.Background(), d)
	must(t, err)
	if rep.Deleted["listener"] != 1 || rep.Created["listener"] != 1 {
		t.Fatalf("after the namespace was made again: %v", rep.Changes)
	}
	// The new socket is in the new namespace.
	c, err := dialIn(h, "tcp4", fmt.Sprintf("127.0.0.1:%d", RouterPort))
	must(t, err)
	c.Close()

	// Closed: the listeners go, and Apply opens none again.
	must(t, r.Close())
	if _, err := dialIn(h, "tcp4", fmt.Sprintf("127.0.0.1:%d", RouterPort)); err == nil {
		t.Error("listener still open after Close")
	}
	if _, err := r.Apply(context.Background(), d); err == nil || r.Stats().Listeners != 0 {
		t.Errorf("Apply after Close: %v, %d listeners", err, r.Stats().Listeners)
	}
}
