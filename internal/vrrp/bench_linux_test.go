package vrrp

import (
	"context"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
)

// BenchmarkCPUPer100Routers runs 100 masters (one per VRID, as 100 HA
// routers of one project on one node would) and 100 backups hearing them,
// at 0.1 s adverts, for 5 s per iteration, and reports the process CPU
// time per second of wall time: the cost of sub-second failover.
func BenchmarkCPUPer100Routers(b *testing.B) {
	lab.RequireRoot(b)
	l := lab.New(b)
	a, c := l.Namespace("a"), l.Namespace("b")
	l.Link(a, "ha-a", []string{haA.String() + "/18"}, c, "ha-b", []string{haB.String() + "/18"})
	const n = 100
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var insts []*Instance
	for side, ns := range [...]struct {
		h   *namespace.Handle
		dev string
		src netip.Addr
	}{{a, "ha-a", haA}, {c, "ha-b", haB}} {
		for v := 1; v <= n; v++ {
			conn, err := Listen(ns.h, ns.dev, ns.src, uint8(v))
			if err != nil {
				b.Fatal(err)
			}
			cfg := Config{VRID: uint8(v), Priority: uint8(200 - 100*side), Interval: 100 * time.Millisecond,
				Local: ns.src, Addrs: []netip.Addr{netip.AddrFrom4([4]byte{169, 254, 0, byte(v)})}}
			inst, err := NewInstance(cfg, conn, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			insts = append(insts, inst)
			wg.Add(1)
			go func() { defer wg.Done(); _ = inst.Run(ctx) }()
		}
		if side == 0 {
			for _, i := range insts {
				waitForB(b, func() bool { return i.State() == Master })
			}
		}
	}
	b.ResetTimer()
	var cpu, wall time.Duration
	for range b.N {
		u0, t0 := rusage(), time.Now()
		time.Sleep(5 * time.Second)
		cpu += rusage() - u0
		wall += time.Since(t0)
	}
	b.StopTimer()
	for _, i := range insts[:n] {
		if i.State() != Master {
			b.Fatalf("a master lost its state: %s", i.State())
		}
	}
	b.ReportMetric(100*float64(cpu)/float64(wall), "cpu%-per-100-routers")
}

func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func waitForB(b *testing.B, cond func() bool) {
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			b.Fatal("timed out")
		}
	}
}
