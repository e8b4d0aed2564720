package loadbalancer

import (
	"net/netip"
	"testing"
)

func mustCompile(t *testing.T, d Desired, hv HealthView) *spec {
	t.Helper()
	g, err := d.resolve()
	if err != nil {
		t.Fatal(err)
	}
	specs := compile(g, hv)
	if len(specs) != 1 {
		t.Fatalf("%d specs", len(specs))
	}
	return specs[0]
}

func allUp(string) (bool, bool) { return true, true }

func TestCompileSplitsKernelAndProxy(t *testing.T) {
	s := mustCompile(t, fixture(), allUp)
	if s.Namespace != "qlbaas-lb1" || s.Dev != "ns-vipport-000" || s.Tap != "tapvipport-000" || s.Bridge != "brqnet1" {
		t.Errorf("names: %+v", s)
	}
	if s.VIP != netip.MustParsePrefix("100.64.1.10/24") || s.Gateway != netip.MustParseAddr("100.64.1.1") || s.MTU != 1450 {
		t.Errorf("vip %v gw %v mtu %d", s.VIP, s.Gateway, s.MTU)
	}
	if len(s.L4) != 2 || s.L4[0].ListenerID != "tcp80" || s.L4[1].ListenerID != "udp53" {
		t.Fatalf("kernel listeners: %+v", s.L4)
	}
	if s.L4[0].Hash || !s.L4[1].Hash || s.L4[1].Proto != 17 {
		t.Errorf("algorithms: %+v", s.L4)
	}
	if len(s.Proxy) != 1 || s.Proxy[0].ID != "http8080" || len(s.Proxy[0].Pools) != 2 || len(s.Proxy[0].Policies) != 1 {
		t.Fatalf("proxy listeners: %+v", s.Proxy)
	}
	if len(s.Monitors) != 2 {
		t.Errorf("monitors: %+v", s.Monitors)
	}
}

func TestSlotsFollowWeights(t *testing.T) {
	a := netip.MustParseAddrPort("100.64.1.21:8000")
	b := netip.MustParseAddrPort("100.64.2.22:8000")
	s := mustCompile(t, fixture(), allUp)
	got := s.L4[0].Slots
	// weights 3 and 1: four slots, a's three interleaved with b's one.
	want := []netip.AddrPort{a, a, b, a}
	if len(got) != len(want) {
		t.Fatalf("slots %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("slots %v, want %v", got, want)
		}
	}
	// Weights with a common divisor use fewer slots.
	if n := len(Slots([]Weighted{{ID: "x", Addr: a, Weight: 100}, {ID: "y", Addr: b, Weight: 50}})); n != 3 {
		t.Errorf("100:50 gave %d slots", n)
	}
}

func TestUnhealthyMemberLeavesAndBackupStepsIn(t *testing.T) {
	d := fixture()
	d.Members = append(d.Members, Member{ID: "m9", PoolID: "web", Address: netip.MustParseAddr("100.64.1.29"), ProtocolPort: 8000, Backup: true})
	down := map[string]bool{"m1": true}
	hv := func(id string) (bool, bool) { return !down[id], true }
	s := mustCompile(t, d, hv)
	if got := s.L4[0].Slots; len(got) != 1 || got[0].Addr() != netip.MustParseAddr("100.64.2.22") {
		t.Fatalf("with m1 down: %v", got)
	}
	down["m2"] = true
	s = mustCompile(t, d, hv)
	if got := s.L4[0].Slots; len(got) != 1 || got[0].Addr() != netip.MustParseAddr("100.64.1.29") {
		t.Fatalf("with both primaries down the backup should serve: %v", got)
	}
	// Admin-down and weight-0 members are out regardless of health.
	d = fixture()
	d.Members[0].AdminStateUp = ptr(false)
	d.Members[1].Weight = ptr(0)
	if got := mustCompile(t, d, allUp).L4[0].Slots; len(got) != 0 {
		t.Fatalf("slots %v", got)
	}
}

func TestConnectionLimitMovesTCPToProxy(t *testing.T) {
	d := fixture()
	d.Listeners[0].ConnectionLimit = ptr(10)
	s := mustCompile(t, d, allUp)
	if len(s.L4) != 1 || len(s.Proxy) != 2 {
		t.Fatalf("L4 %d proxy %d", len(s.L4), len(s.Proxy))
	}
	d = fixture()
	d.Pools[0].LBAlgorithm = LeastConnections
	if s := mustCompile(t, d, allUp); len(s.L4) != 1 || len(s.Proxy) != 2 {
		t.Fatalf("LEAST_CONNECTIONS: L4 %d proxy %d", len(s.L4), len(s.Proxy))
	}
}

func TestDisabledLoadBalancerServesNothing(t *testing.T) {
	d := fixture()
	d.LoadBalancers[0].AdminStateUp = ptr(false)
	s := mustCompile(t, d, allUp)
	if len(s.L4)+len(s.Proxy) != 0 {
		t.Fatalf("disabled LB serves %d listeners", len(s.L4)+len(s.Proxy))
	}
}

// A pool created with listener_id is that listener's default pool, as in
// Octavia, when the listener names none.
func TestPoolWithListenerIDIsTheDefault(t *testing.T) {
	d := fixture()
	d.Listeners[0].DefaultPoolID = ""
	s := mustCompile(t, d, allUp)
	if len(s.L4) != 2 || len(s.L4[0].Slots) != 4 {
		t.Fatalf("tcp80 without default_pool_id: %+v", s.L4)
	}
}
