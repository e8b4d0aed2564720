package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func neutronConfig(local netip.Addr) Config {
	return Config{VRID: 7, Priority: 50, Interval: 2 * time.Second, Local: local,
		Addrs: []netip.Addr{netip.MustParseAddr("169.254.0.7")}}
}

func mustMachine(t *testing.T, c Config) *Machine {
	t.Helper()
	m, err := NewMachine(c)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStartBackupThenMasterAfterMasterDown(t *testing.T) {
	m := mustMachine(t, neutronConfig(srcA))
	a := m.Start(t0)
	if !a.Changed || a.From != Initialize || a.To != Backup || a.Send {
		t.Fatalf("start: %+v", a)
	}
	// 3 × 2 s + (256−50)×2 s/256 = 6 s + 1.609375 s.
	want := 6*time.Second + 1609375*time.Microsecond
	if got := m.MasterDownInterval(); got != want {
		t.Fatalf("master down %s, want %s", got, want)
	}
	if a := m.Tick(t0.Add(want - time.Millisecond)); a.Changed || a.Send {
		t.Fatalf("early tick: %+v", a)
	}
	a = m.Tick(t0.Add(want))
	if !a.Changed || a.To != Master || !a.Send || a.SendPriority != 50 {
		t.Fatalf("master down: %+v", a)
	}
	// As master it advertises every interval.
	if a := m.Tick(t0.Add(want + 2*time.Second)); !a.Send || a.Changed {
		t.Fatalf("adver timer: %+v", a)
	}
}

func TestCentisecondIntervals(t *testing.T) {
	c := neutronConfig(srcA)
	c.Interval = 100 * time.Millisecond
	m := mustMachine(t, c)
	m.Start(t0)
	// 0.3 s + 206/256 × 0.1 s: under the 0.5 s.
	if got := m.MasterDownInterval(); got != 380468750*time.Nanosecond {
		t.Fatalf("master down %s", got)
	}
}

func TestBackupAdvertsResetTimerAndLearnInterval(t *testing.T) {
	m := mustMachine(t, neutronConfig(srcA))
	m.Start(t0)
	adv := Packet{VRID: 7, Priority: 50, Interval: 10}
	for i := range 50 {
		now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		if a := m.Receive(now, srcB, adv); a.Changed {
			t.Fatalf("advert %d changed state: %+v", i, a)
		}
		if a := m.Tick(now); a.Changed {
			t.Fatalf("tick %d took over from a live master", i)
		}
	}
	// The master's 0.1 s interval is now ours to wait on, not our 2 s.
	if got := m.MasterDownInterval(); got >= time.Second {
		t.Fatalf("did not learn the master's interval: %s", got)
	}
	// Other VRIDs are not our master.
	last := t0.Add(49 * 100 * time.Millisecond)
	m.Receive(last.Add(time.Millisecond), srcB, Packet{VRID: 8, Priority: 50, Interval: 10})
	if a := m.Tick(m.Deadline()); !a.Changed || a.To != Master {
		t.Fatalf("no takeover after master silence: %+v", a)
	}
}

func TestBackupPriorityZeroTakesOverAfterSkew(t *testing.T) {
	m := mustMachine(t, neutronConfig(srcA))
	m.Start(t0)
	m.Receive(t0, srcB, Packet{VRID: 7, Priority: 0, Interval: 200})
	if got := m.Deadline().Sub(t0); got != m.skew() || got >= time.Duration(2*time.Second) {
		t.Fatalf("deadline after priority 0: %s, skew %s", got, m.skew())
	}
}

func TestPreemption(t *testing.T) {
	c := neutronConfig(srcA)
	c.Priority = 100
	low := Packet{VRID: 7, Priority: 50, Interval: 200}

	// nopreempt (Neutron): a lower-priority master is kept.
	m := mustMachine(t, c)
	m.Start(t0)
	m.Receive(t0.Add(7*time.Second), srcB, low)
	if a := m.Tick(t0.Add(8 * time.Second)); a.Changed {
		t.Fatalf("nopreempt took over: %+v", a)
	}

	// preempt: its adverts are ignored and we take over at master-down.
	c.Preempt = true
	m = mustMachine(t, c)
	m.Start(t0)
	d := m.Deadline()
	m.Receive(t0.Add(time.Second), srcB, low)
	if m.Deadline() != d {
		t.Fatal("preempting backup reset its timer on a lower priority")
	}
	if a := m.Tick(d); a.To != Master {
		t.Fatalf("preempt: %+v", a)
	}
}

func TestMasterYieldsToHigherPriorityOrAddress(t *testing.T) {
	for name, c := range map[string]struct {
		prio  uint8
		src   netip.Addr
		yield bool
	}{
		"higher priority":       {60, srcA, true},
		"lower priority":        {40, srcB, false},
		"equal, higher address": {50, srcB, true},
		"equal, lower address":  {50, netip.MustParseAddr("169.254.191.1"), false},
	} {
		m := mustMachine(t, neutronConfig(srcA))
		m.Start(t0)
		m.Tick(m.Deadline())
		now := m.Deadline()
		a := m.Receive(now, c.src, Packet{VRID: 7, Priority: c.prio, Interval: 10})
		if got := a.Changed && a.To == Backup; got != c.yield {
			t.Errorf("%s: yield %v, want %v (%+v)", name, got, c.yield, a)
		}
		if c.yield && m.Deadline() != now.Add(m.MasterDownInterval()) {
			t.Errorf("%s: backup timer not master-down", name)
		}
	}
}

func TestMasterAnswersPriorityZero(t *testing.T) {
	m := mustMachine(t, neutronConfig(srcA))
	m.Start(t0)
	m.Tick(m.Deadline())
	now := m.Deadline().Add(-time.Second)
	if a := m.Receive(now, srcB, Packet{VRID: 7, Priority: 0, Interval: 200}); !a.Send || a.Changed {
		t.Fatalf("%+v", a)
	}
}

func TestOwnerStartsMasterAndShutdownSendsZero(t *testing.T) {
	c := neutronConfig(srcA)
	c.Priority = 255
	m := mustMachine(t, c)
	if a := m.Start(t0); a.To != Master || !a.Send {
		t.Fatalf("%+v", a)
	}
	a := m.Shutdown()
	if !a.Send || a.SendPriority != 0 || a.To != Initialize {
		t.Fatalf("%+v", a)
	}
	if a := m.Tick(t0.Add(time.Hour)); a.Send || a.Changed {
		t.Fatalf("ticks after shutdown: %+v", a)
	}
}

func TestConfigValidate(t *testing.T) {
	good := neutronConfig(srcA)
	for name, mut := range map[string]func(*Config){
		"vrid 0":     func(c *Config) { c.VRID = 0 },
		"priority 0": func(c *Config) { c.Priority = 0 },
		"interval":   func(c *Config) { c.Interval = 15 * time.Millisecond },
		"local v6":   func(c *Config) { c.Local = netip.MustParseAddr("fe80::1") },
		"addr v6":    func(c *Config) { c.Addrs = []netip.Addr{netip.MustParseAddr("2001:db8::1")} },
	} {
		c := good
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}
