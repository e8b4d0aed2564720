package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// loopNet opens sockets in the test's own namespace, on loopback.
type loopNet struct{}

func (loopNet) Listen(network, addr string) (net.Listener, error) { return net.Listen(network, addr) }
func (loopNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func freePort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String())
}

func TestHTTPProxyForwardsAndRetries(t *testing.T) {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "xff=%s proto=%s secret=%q conn=%q", r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"),
			r.Header.Get("X-Secret"), r.Header.Get("Connection"))
	}))
	defer member.Close()
	dead := freePort(t) // nothing listens there
	addr := freePort(t)
	p := New(slog.New(slog.DiscardHandler))
	defer p.Close()
	l := Listener{ID: "l", HTTP: true, Addr: addr, Limit: -1, DefaultPool: "p", ForwardedFor: true, ForwardedProto: true,
		ConnectTimeout: time.Second, ClientTimeout: 5 * time.Second, MemberTimeout: 5 * time.Second,
		Pools: map[string]*Pool{"p": {ID: "p", Algorithm: "ROUND_ROBIN", Members: []Member{
			{ID: "dead", Addr: dead, Weight: 1},
			{ID: "live", Addr: netip.MustParseAddrPort(member.Listener.Addr().String()), Weight: 1},
		}}}}
	if err := p.Set("lb", loopNet{}, []Listener{l}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for range 6 {
		req, _ := http.NewRequest("GET", "http://"+addr.String()+"/x", nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.9")
		req.Header.Set("Connection", "X-Secret")
		req.Header.Set("X-Secret", "hop")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		if got := string(b); got != `xff=198.51.100.9, 127.0.0.1 proto=http secret="" conn=""` {
			t.Fatalf("member saw %s", got)
		}
	}
	// A policy change swaps state without rebinding; an empty pool is 503.
	l.Pools["p"].Members = nil
	if err := p.Set("lb", loopNet{}, []Listener{l}); err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("empty pool answered %d", resp.StatusCode)
	}
	p.Remove("lb")
	if _, err := client.Get("http://" + addr.String() + "/"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("removed listener still answers: %v", err)
	}
}
