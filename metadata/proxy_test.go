package metadata

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/port"
)

// Nova's handler checks hmac.new(secret, instance_id, hashlib.sha256)
// .hexdigest(); the expected value was computed with Python's hmac module.
func TestSignMatchesNova(t *testing.T) {
	got := Sign([]byte("s3cr3t"), "6b1e4f6a-0c6f-4a55-9e3c-3a5e1d2f7c11")
	want := "d1502fe9e31cf3c1fbe3a683545d02112638118cf5087cf3371f3d2470305e96"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestConfigWithoutSecretIsRefused(t *testing.T) {
	_, _, err := Config{NovaURL: "http://192.0.2.1:8775"}.validated()
	if err == nil || !strings.Contains(err.Error(), "metadata_proxy_shared_secret") {
		t.Fatalf("err = %v, want a shared secret error", err)
	}
	if _, _, err := (Config{SharedSecret: []byte("x"), NovaURL: "ftp://h"}).validated(); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

func mac(s string) port.MAC {
	var m port.MAC
	if err := m.UnmarshalText([]byte(s)); err != nil {
		panic(err)
	}
	return m
}

func fixed(ip string) []port.FixedIP {
	return []port.FixedIP{{SubnetID: "s", IPAddress: netip.MustParseAddr(ip)}}
}

// testDesired: router r1 on networks n1 and n2 (overlapping 10.0.0.0/24 on
// n3, served by no router), isolated network n3.
func testDesired() *Desired {
	return &Desired{
		Routers:  []string{"r1"},
		Networks: []Network{{ID: "n3", DHCPPortID: "d3", IPv6: true}},
		Ports: []port.Port{
			{ID: "ri1", NetworkID: "n1", DeviceOwner: port.OwnerRouterInterface, DeviceID: "r1", FixedIPs: fixed("10.0.0.1")},
			{ID: "ri2", NetworkID: "n2", DeviceOwner: port.OwnerRouterInterface, DeviceID: "r1", FixedIPs: fixed("10.0.1.1")},
			{ID: "vm1", NetworkID: "n1", DeviceOwner: "compute:nova", DeviceID: "i-1", ProjectID: "p-1", FixedIPs: fixed("10.0.0.5"), MACAddress: mac("fa:16:3e:00:00:01")},
			{ID: "vm2", NetworkID: "n2", DeviceOwner: "compute:nova", DeviceID: "i-2", ProjectID: "p-2", FixedIPs: fixed("10.0.1.5")},
			{ID: "vm3", NetworkID: "n3", DeviceOwner: "compute:nova", DeviceID: "i-3", ProjectID: "p-3", FixedIPs: fixed("10.0.0.5"), MACAddress: mac("fa:16:3e:00:00:03")},
			{ID: "d3", NetworkID: "n3", DeviceOwner: port.OwnerDHCP, DeviceID: "dhcp-x", FixedIPs: fixed("10.0.0.2")},
			{ID: "nodev", NetworkID: "n1", DeviceOwner: "compute:nova", FixedIPs: fixed("10.0.0.9")},
			// Two ports claim 10.0.1.7 on n2: ambiguous, as Neutron's
			// "exactly one port" check finds.
			{ID: "dupa", NetworkID: "n2", DeviceID: "i-a", FixedIPs: fixed("10.0.1.7")},
			{ID: "dupb", NetworkID: "n2", DeviceID: "i-b", FixedIPs: fixed("10.0.1.7")},
			// A network nobody serves here.
			{ID: "vm9", NetworkID: "n9", DeviceID: "i-9", FixedIPs: fixed("10.0.1.5")},
		},
	}
}

func TestLookup(t *testing.T) {
	ix := buildIndex(testDesired(), []byte("s"), nil)
	r1, n3 := Scope{Router: true, ID: "r1"}, Scope{ID: "n3"}
	for _, c := range []struct {
		scope Scope
		src   string
		want  string // instance, "" for none
	}{
		{r1, "10.0.0.5", "i-1"},
		{r1, "10.0.1.5", "i-2"},
		{r1, "::ffff:10.0.1.5", "i-2"}, // IPv4-mapped, as Neutron unmaps it
		{n3, "10.0.0.5", "i-3"},        // same address, other network
		{n3, "10.0.1.5", ""},
		{r1, "10.0.0.9", ""},  // no device_id
		{r1, "10.0.1.7", ""},  // two ports
		{r1, "10.0.0.77", ""}, // nobody
		{Scope{Router: true, ID: "r2"}, "10.0.0.5", ""},
		// IPv6 link-local: the MAC from EUI-64 (fa:16:3e:00:00:03 -> f816:3eff:fe00:3).
		{n3, "fe80::f816:3eff:fe00:3", "i-3"},
		{n3, "fe80::f816:3eff:fe00:1", ""},
		{r1, "fe80::f816:3eff:fe00:1", "i-1"},
		{n3, "fe80::1", ""}, // not EUI-64
	} {
		got, ok := ix.lookup(c.scope, netip.MustParseAddr(c.src))
		if got.ID != c.want || ok != (c.want != "") {
			t.Errorf("lookup(%s, %s) = %q %v, want %q", c.scope, c.src, got.ID, ok, c.want)
		}
	}
	if got, _ := ix.lookup(r1, netip.MustParseAddr("10.0.0.5")); got.Project != "p-1" || got.PortID != "vm1" {
		t.Errorf("instance = %+v, want project p-1 port vm1", got)
	}
}

// fakeNova records the last request's headers and answers like Nova's
// handler: 403 when the signature is wrong.
func fakeNova(t *testing.T, secret string) (*httptest.Server, chan http.Header) {
	seen := make(chan http.Header, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Clone()
		h.Set("X-Test-Path", r.URL.RequestURI())
		seen <- h
		if Sign([]byte(secret), r.Header.Get(HeaderInstanceID)) != r.Header.Get(HeaderSignature) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		io.WriteString(w, "instance "+r.Header.Get(HeaderInstanceID))
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func newTestProxy(t *testing.T, nova, secret string, rate float64) *proxy {
	cfg, u, err := Config{NovaURL: nova, SharedSecret: []byte(secret), RatePerSource: rate}.validated()
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(cfg, u, slog.New(slog.DiscardHandler))
	p.ix.Store(buildIndex(testDesired(), cfg.SharedSecret, nil))
	return p
}

func do(p *proxy, s Scope, src string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "http://169.254.169.254/openstack/latest/meta_data.json?x=1", nil)
	req.RemoteAddr = src
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return serve(p, s, req)
}

// serve hands req to p as a listener of scope s would.
func serve(p *proxy, s Scope, req *http.Request) *httptest.ResponseRecorder {
	req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, s))
	w := httptest.NewRecorder()
	p.ServeHTTP(w, req)
	return w
}

func TestProxySignsAndOverwritesForgedHeaders(t *testing.T) {
	nova, seen := fakeNova(t, "s3cr3t")
	p := newTestProxy(t, nova.URL+"/base", "s3cr3t", -1)
	w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:41000", map[string]string{
		HeaderInstanceID: "i-2", HeaderSignature: Sign([]byte("guess"), "i-2"), HeaderTenantID: "p-2",
		HeaderForwardedFor: "10.0.1.5", HeaderNetworkID: "n2",
	})
	if w.Code != 200 || w.Body.String() != "instance i-1" {
		t.Fatalf("got %d %q, want 200 from Nova for i-1", w.Code, w.Body)
	}
	h := <-seen
	for k, v := range map[string]string{
		HeaderInstanceID: "i-1", HeaderTenantID: "p-1", HeaderForwardedFor: "10.0.0.5", HeaderRouterID: "r1",
		HeaderSignature: Sign([]byte("s3cr3t"), "i-1"), HeaderNetworkID: "",
		"X-Test-Path": "/base/openstack/latest/meta_data.json?x=1",
	} {
		if got := h.Get(k); got != v {
			t.Errorf("Nova saw %s = %q, want %q", k, got, v)
		}
	}
	if v := h.Values(HeaderForwardedFor); len(v) != 1 {
		t.Errorf("X-Forwarded-For = %q, want the source alone", v)
	}
}

func TestProxyNetworkScope(t *testing.T) {
	nova, seen := fakeNova(t, "s3cr3t")
	p := newTestProxy(t, nova.URL, "s3cr3t", -1)
	if w := do(p, Scope{ID: "n3"}, "[fe80::f816:3eff:fe00:3%ns-d3]:40000", nil); w.Code != 200 {
		t.Fatalf("got %d, want 200", w.Code)
	}
	h := <-seen
	if h.Get(HeaderNetworkID) != "n3" || h.Get(HeaderRouterID) != "" || h.Get(HeaderInstanceID) != "i-3" || h.Get(HeaderForwardedFor) != "fe80::f816:3eff:fe00:3" {
		t.Errorf("Nova saw %v", h)
	}
}

func TestProxyUnknownSourceIs404(t *testing.T) {
	nova, seen := fakeNova(t, "s3cr3t")
	p := newTestProxy(t, nova.URL, "s3cr3t", -1)
	w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.77:1234", map[string]string{HeaderInstanceID: "i-1"})
	if w.Code != 404 || !strings.Contains(w.Body.String(), "router r1") {
		t.Fatalf("got %d %q, want 404 naming router r1", w.Code, w.Body)
	}
	if len(seen) != 0 {
		t.Fatal("an unknown source reached Nova")
	}
	if got := p.stats.snapshot().Requests[resultNotFound]; got != 1 {
		t.Errorf("not_found = %d, want 1", got)
	}
}

func TestProxyWrongSecretIsRejectedByNovaAndCounted(t *testing.T) {
	nova, _ := fakeNova(t, "nova-secret")
	p := newTestProxy(t, nova.URL, "other", -1)
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil); w.Code != http.StatusForbidden {
		t.Fatalf("got %d, want Nova's 403", w.Code)
	}
	if got := p.stats.snapshot().Requests["403"]; got != 1 {
		t.Errorf("403 count = %d, want 1", got)
	}
}

func TestProxyNovaDownIs503(t *testing.T) {
	nova, _ := fakeNova(t, "s")
	u := nova.URL
	nova.Close()
	p := newTestProxy(t, u, "s", -1)
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("got %d, want 503", w.Code)
	}
	if p.stats.snapshot().Requests[resultUpstreamError] != 1 {
		t.Error("upstream error not counted")
	}
}

func TestProxyRateLimitsPerSource(t *testing.T) {
	nova, _ := fakeNova(t, "s")
	p := newTestProxy(t, nova.URL, "s", 2) // burst 2
	codes := map[int]int{}
	for range 5 {
		codes[do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil).Code]++
	}
	if codes[200] < 2 || codes[http.StatusTooManyRequests] == 0 {
		t.Fatalf("codes %v: want the burst served, then 429", codes)
	}
	// Another guest is not starved by the first.
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.1.5:1", nil); w.Code != 200 {
		t.Fatalf("other source got %d", w.Code)
	}
}

func TestLiveUpdateOfInstanceMap(t *testing.T) {
	nova, _ := fakeNova(t, "s")
	p := newTestProxy(t, nova.URL, "s", -1)
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.50:1", nil); w.Code != 404 {
		t.Fatalf("got %d before the port exists", w.Code)
	}
	d := testDesired()
	d.Ports = append(d.Ports, port.Port{ID: "new", NetworkID: "n1", DeviceID: "i-new", FixedIPs: fixed("10.0.0.50")})
	p.ix.Store(buildIndex(d, []byte("s"), p.ix.Load()))
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.50:1", nil); w.Code != 200 || w.Body.String() != "instance i-new" {
		t.Fatalf("got %d %q after the update", w.Code, w.Body)
	}
}

func TestProxyOverHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Sign([]byte("s"), r.Header.Get(HeaderInstanceID)) != r.Header.Get(HeaderSignature) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		io.WriteString(w, "tls "+r.Header.Get(HeaderInstanceID))
	}))
	defer srv.Close()
	cfg, u, err := Config{NovaURL: srv.URL, SharedSecret: []byte("s"), RatePerSource: -1,
		TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig}.validated()
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(cfg, u, slog.New(slog.DiscardHandler))
	p.ix.Store(buildIndex(testDesired(), cfg.SharedSecret, nil))
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil); w.Code != 200 || w.Body.String() != "tls i-1" {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
	// Without the test CA, Nova's certificate is refused: 503.
	cfg.TLS = nil
	p = newProxy(cfg, u, slog.New(slog.DiscardHandler))
	p.ix.Store(buildIndex(testDesired(), cfg.SharedSecret, nil))
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("untrusted certificate: got %d, want 503", w.Code)
	}
}

func TestTLSConfigNeedsKeyWithCert(t *testing.T) {
	if _, err := TLSConfig("", "cert.pem", "", false); err == nil {
		t.Fatal("a client certificate without key was accepted")
	}
	if c, err := TLSConfig("", "", "", true); err != nil || !c.InsecureSkipVerify {
		t.Fatalf("insecure: %v %v", c, err)
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	c := Config{NovaURL: "http://192.0.2.1:8775", SharedSecret: []byte("hunter2-secret")}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("cfg", "config", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), buf.String()} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret printed: %s", s)
		}
	}
}

func TestIndexReusesSignatures(t *testing.T) {
	a := buildIndex(testDesired(), []byte("s"), nil)
	if a.sigs["i-1"] != Sign([]byte("s"), "i-1") {
		t.Fatalf("signature of i-1 = %q", a.sigs["i-1"])
	}
	// A signature the previous index holds is taken as it is.
	a.sigs["i-1"] = "from-prev"
	b := buildIndex(testDesired(), []byte("s"), a)
	if got, _ := b.lookup(Scope{Router: true, ID: "r1"}, netip.MustParseAddr("10.0.0.5")); got.signature != "from-prev" {
		t.Fatalf("signature %q, want the previous index's", got.signature)
	}
	if _, ok := b.sigs["i-9"]; ok {
		t.Error("signed an instance of a network nobody serves")
	}
}
