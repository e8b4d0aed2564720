package vrrp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// fakeConn is one member's end of an in-memory HA network.
type fakeConn struct {
	in     chan Received
	mu     sync.Mutex
	sent   []Packet
	closed chan struct{}
	once   sync.Once
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan Received, 16), closed: make(chan struct{})}
}

func (f *fakeConn) Send(p Packet) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, p)
	return nil
}

func (f *fakeConn) Receive() (Received, error) {
	select {
	case r := <-f.in:
		if r.Packet.VRID == 0 {
			return Received{}, errors.New("bad packet")
		}
		return r, nil
	case <-f.closed:
		return Received{}, fmt.Errorf("fake: %w", net.ErrClosed)
	}
}

func (f *fakeConn) Close() error { f.once.Do(func() { close(f.closed) }); return nil }

func (f *fakeConn) sentCopy() []Packet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Packet(nil), f.sent...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestInstanceLifecycle(t *testing.T) {
	cfg := neutronConfig(srcA)
	cfg.Interval = 10 * time.Millisecond
	conn := newFakeConn()
	var mu sync.Mutex
	var changes []string
	inst, err := NewInstance(cfg, conn, nil, func(from, to State) {
		mu.Lock()
		changes = append(changes, from.String()+">"+to.String())
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- inst.Run(ctx) }()

	// Alone on the network it takes over and advertises.
	waitFor(t, "master", func() bool { return inst.State() == Master })
	waitFor(t, "adverts", func() bool { return len(conn.sentCopy()) >= 3 })

	// A bad packet is counted, not fatal.
	conn.in <- Received{}
	waitFor(t, "drop counted", func() bool { return inst.Dropped() == 1 })

	// A higher-priority master sends it back to backup, and it stays there
	// while that master advertises.
	for range 20 {
		conn.in <- Received{Src: srcB, Packet: Packet{VRID: 7, Priority: 200, Interval: 100}}
		waitFor(t, "backup", func() bool { return inst.State() == Backup })
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"initialize>backup", "backup>master", "master>backup", "backup>initialize"}
	if fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Fatalf("transitions %v, want %v", changes, want)
	}
}

func TestInstanceShutdownAsMasterSendsPriorityZero(t *testing.T) {
	cfg := neutronConfig(srcA)
	cfg.Interval = 10 * time.Millisecond
	conn := newFakeConn()
	inst, err := NewInstance(cfg, conn, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- inst.Run(ctx) }()
	waitFor(t, "master", func() bool { return inst.State() == Master })
	cancel()
	<-done
	sent := conn.sentCopy()
	if last := sent[len(sent)-1]; last.Priority != 0 {
		t.Fatalf("last advert priority %d, want 0", last.Priority)
	}
	if inst.State() != Initialize {
		t.Fatalf("state %s after shutdown", inst.State())
	}
}
