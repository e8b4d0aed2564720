package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func TestFallAndRise(t *testing.T) {
	p := &probe{t: Target{Rise: 2, Fall: 3}, up: true}
	steps := []struct {
		ok          bool
		changed, up bool
	}{
		{false, false, true}, {false, false, true}, {false, true, false}, // out after 3 failures
		{false, false, false}, {true, false, false}, {false, false, false}, // a success resets nothing but the failure count
		{true, false, false}, {true, true, true}, // back after 2 successes in a row
		{false, false, true}, {true, false, true}, {false, false, true}, // failures must be consecutive
	}
	for i, s := range steps {
		changed, up := p.record(s.ok)
		if changed != s.changed || up != s.up {
			t.Fatalf("step %d (ok=%v): changed=%v up=%v, want %v %v", i, s.ok, changed, up, s.changed, s.up)
		}
	}
}

// plainNet dials in the test's own namespace (loopback only).
type plainNet struct{}

func (plainNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (plainNet) Ping(context.Context, netip.Addr) error { return errors.New("no ping here") }

func TestHTTPCheckExpectsCodes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || r.Method != "HEAD" {
			w.WriteHeader(404)
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	addr := netip.MustParseAddrPort(srv.Listener.Addr().String())
	tg := Target{Addr: addr, Type: TypeHTTP, Method: "HEAD", Path: "/health", Codes: map[int]bool{200: true, 204: true}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Check(ctx, plainNet{}, tg); err != nil {
		t.Fatal(err)
	}
	tg.Path = "/other"
	if err := Check(ctx, plainNet{}, tg); err == nil {
		t.Fatal("404 accepted")
	}
	tg.Type = TypeTCP
	if err := Check(ctx, plainNet{}, tg); err != nil {
		t.Fatal(err)
	}
}

func TestCheckerReportsChanges(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	var mu sync.Mutex
	var changes []string
	c := New(nil, func(ch Change) {
		mu.Lock()
		changes = append(changes, fmt.Sprintf("%s/%s %v", ch.Group, ch.Key, ch.Up))
		mu.Unlock()
	})
	defer c.Close()
	tg := Target{Key: "m1", Addr: netip.MustParseAddrPort(ln.Addr().String()), Type: TypeTCP,
		Delay: 10 * time.Millisecond, Timeout: time.Second, Rise: 1, Fall: 1}
	c.Set("lb", plainNet{}, []Target{tg})
	wait := func(cond func() bool) {
		t.Helper()
		for start := time.Now(); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Since(start) > 30*time.Second {
				t.Fatal("condition never held")
			}
		}
	}
	wait(func() bool { s, in, _ := c.State("lb", "m1"); return s == Online && in })
	_ = ln.Close()
	wait(func() bool { s, in, _ := c.State("lb", "m1"); return s == Error && !in })
	mu.Lock()
	if len(changes) != 1 || changes[0] != "lb/m1 false" {
		t.Fatalf("changes %v", changes)
	}
	mu.Unlock()
	c.Remove("lb")
	if _, _, known := c.State("lb", "m1"); known {
		t.Fatal("removed probe still known")
	}
}
