package metadata

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A kept-alive connection Nova closed while it sat in the pool: the
// request is sent again on a new connection, and the guest sees 200.
func TestUpstreamRetriesConnectionClosedByNova(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			// One answer that promises keep-alive, then the connection
			// goes: what a server's idle timeout does between requests.
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				body := "instance " + req.Header.Get(HeaderInstanceID)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
			}()
		}
	}()
	p := newTestProxy(t, "http://"+ln.Addr().String(), "s", -1)
	for i := range 3 {
		if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil); w.Code != 200 || w.Body.String() != "instance i-1" {
			t.Fatalf("request %d: %d %q", i, w.Code, w.Body)
		}
	}
	if n := conns.Load(); n < 3 {
		t.Errorf("%d connections for 3 requests on a server that closes each", n)
	}
}

// Connections are kept alive and reused across requests.
func TestUpstreamReusesConnections(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "instance "+r.Header.Get(HeaderInstanceID))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	p := newTestProxy(t, srv.URL, "s", -1)
	for range 5 {
		if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil); w.Code != 200 {
			t.Fatalf("got %d", w.Code)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections to Nova for 5 sequential requests, want 1", n)
	}
	p.up.close()
}

// Hop-by-hop headers stay on their hop, in both directions; a request
// body (the password POST of Nova's API) reaches Nova.
func TestProxyHopByHopAndBody(t *testing.T) {
	var seen http.Header
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("Connection", "X-Upstream-Hop")
		w.Header().Set("X-Upstream-Hop", "1")
		w.Header().Set("X-Kept", "1")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	p := newTestProxy(t, srv.URL, "s", -1)
	req := httptest.NewRequest("POST", "http://169.254.169.254/openstack/latest/password", strings.NewReader("secret-pw"))
	req.RemoteAddr = "10.0.0.5:1"
	req.Header.Set("Connection", "X-Guest-Hop")
	req.Header.Set("X-Guest-Hop", "1")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("X-Guest-Kept", "1")
	w := serve(p, Scope{Router: true, ID: "r1"}, req)
	if w.Code != 200 || body != "secret-pw" {
		t.Fatalf("got %d, Nova read body %q", w.Code, body)
	}
	for _, k := range []string{"X-Guest-Hop", "Keep-Alive"} {
		if seen.Get(k) != "" {
			t.Errorf("Nova saw hop-by-hop %s", k)
		}
	}
	if seen.Get("X-Guest-Kept") != "1" {
		t.Error("an end-to-end header of the guest was dropped")
	}
	if w.Header().Get("X-Upstream-Hop") != "" || w.Header().Get("X-Kept") != "1" {
		t.Errorf("guest saw headers %v", w.Header())
	}
}

// Nova slower than the timeout: 503, and the request is not sent twice.
func TestUpstreamTimeoutIs503WithoutRetry(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			<-release
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cfg, u, err := Config{NovaURL: srv.URL, SharedSecret: []byte("s"), RatePerSource: -1, Timeout: 200 * time.Millisecond}.validated()
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(cfg, u, slog.New(slog.DiscardHandler))
	p.ix.Store(buildIndex(testDesired(), cfg.SharedSecret, nil))
	// The first request leaves a kept-alive connection in the pool, so
	// the second runs on a reused one: the case a retry would apply to.
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil); w.Code != 200 {
		t.Fatalf("first request: %d", w.Code)
	}
	if w := do(p, Scope{Router: true, ID: "r1"}, "10.0.0.5:1", nil); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("slow Nova: got %d, want 503", w.Code)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("Nova got %d requests, want 2 (no retry after a timeout)", n)
	}
}
