package loadbalancer

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestFixtureIsValid(t *testing.T) {
	d := fixture()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestInvalidDocumentsNameTheField proves each refusal names the field's
// path and the object, and wraps the right sentinel.
func TestInvalidDocumentsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Desired)
		path   string
		kind   error
		object string
	}{
		{"member outside every subnet of the pool's network", func(d *Desired) {
			d.Members[1].Address = netip.MustParseAddr("100.64.9.5") // on net2 only
		}, "members[1].address", errdefs.ErrInvalid, "member m2"},
		{"member on a subnet of another network", func(d *Desired) {
			d.Members[1].SubnetID = "other"
		}, "members[1].subnet_id", errors.ErrUnsupported, "member m2"},
		{"listener port clash", func(d *Desired) {
			d.Listeners[1].ProtocolPort = 80 // HTTP is TCP too
		}, "listeners[1].protocol_port", errdefs.ErrConflict, "listener http8080"},
		{"unknown default pool", func(d *Desired) {
			d.Listeners[0].DefaultPoolID = "nope"
		}, "listeners[0].default_pool_id", errdefs.ErrNotFound, "listener tcp80"},
		{"unknown member pool", func(d *Desired) {
			d.Members[0].PoolID = "nope"
		}, "members[0].pool_id", errdefs.ErrNotFound, "member m1"},
		{"unknown redirect pool", func(d *Desired) {
			d.L7Policies[0].RedirectPoolID = "nope"
		}, "l7policies[0].redirect_pool_id", errdefs.ErrNotFound, "l7policy pol1"},
		{"unknown monitor pool", func(d *Desired) {
			d.HealthMonitors[0].PoolID = "nope"
		}, "healthmonitors[0].pool_id", errdefs.ErrNotFound, "healthmonitor hm1"},
		{"pool protocol the listener cannot use", func(d *Desired) {
			d.Listeners[2].DefaultPoolID = "web"
		}, "listeners[2].default_pool_id", errdefs.ErrInvalid, "listener udp53"},
		{"VIP port missing", func(d *Desired) {
			d.LoadBalancers[0].VIPPortID = "gone"
		}, "loadbalancers[0].vip_port_id", errdefs.ErrNotFound, "loadbalancer lb1"},
		{"VIP address not on the port", func(d *Desired) {
			d.LoadBalancers[0].VIPAddress = netip.MustParseAddr("100.64.1.99")
		}, "loadbalancers[0].vip_address", errdefs.ErrConflict, "loadbalancer lb1"},
		{"VIP port of an instance", func(d *Desired) {
			d.Ports[0].DeviceOwner = "compute:nova"
		}, "loadbalancers[0].vip_port_id", errdefs.ErrInvalid, "loadbalancer lb1"},
		{"weight out of range", func(d *Desired) {
			d.Members[0].Weight = ptr(257)
		}, "members[0].weight", errdefs.ErrInvalid, "member m1"},
		{"HTTP field on a TCP monitor", func(d *Desired) {
			d.HealthMonitors[0].URLPath = "/health"
		}, "healthmonitors[0].url_path", errdefs.ErrInvalid, "healthmonitor hm1"},
		{"bad expected codes", func(d *Desired) {
			d.HealthMonitors[0].Type = MonitorHTTP
			d.HealthMonitors[0].ExpectedCodes = "200-1x"
		}, "healthmonitors[0].expected_codes", errdefs.ErrInvalid, "healthmonitor hm1"},
		{"max_retries out of range", func(d *Desired) {
			d.HealthMonitors[0].MaxRetries = 11
		}, "healthmonitors[0].max_retries", errdefs.ErrInvalid, "healthmonitor hm1"},
		{"header rule without key", func(d *Desired) {
			d.L7Policies[0].Rules[0].Type = RuleHeader
		}, "l7policies[0].rules[0].key", errdefs.ErrInvalid, "l7policy pol1"},
		{"bad regex", func(d *Desired) {
			d.L7Policies[0].Rules[0].CompareType = CompareRegex
			d.L7Policies[0].Rules[0].Value = "(["
		}, "l7policies[0].rules[0].value", errdefs.ErrInvalid, "l7policy pol1"},
		{"L7 policy on a TCP listener", func(d *Desired) {
			d.L7Policies[0].ListenerID = "tcp80"
		}, "l7policies[0].listener_id", errdefs.ErrInvalid, "l7policy pol1"},
		{"unrealized listener protocol", func(d *Desired) {
			d.Listeners[0].Protocol = "TERMINATED_HTTPS"
		}, "listeners[0].protocol", errors.ErrUnsupported, "listener tcp80"},
		{"LEAST_CONNECTIONS on UDP", func(d *Desired) {
			d.Pools[3].LBAlgorithm = LeastConnections
		}, "pools[3].lb_algorithm", errors.ErrUnsupported, "pool dns"},
		{"HTTP_COOKIE on a TCP pool", func(d *Desired) {
			d.Pools[0].SessionPersistence = &Persistence{Type: PersistHTTPCookie}
		}, "pools[0].session_persistence.type", errdefs.ErrInvalid, "pool web"},
		{"duplicate member id", func(d *Desired) {
			d.Members[1].ID = "m1"
		}, "members[1].id", errdefs.ErrConflict, "member m1"},
		{"listener on a missing load balancer", func(d *Desired) {
			d.Listeners[0].LoadBalancerID = "lb9"
		}, "listeners[0].loadbalancer_id", errdefs.ErrNotFound, "listener tcp80"},
		{"monitor address outside the VIP network", func(d *Desired) {
			d.Members[0].MonitorAddress = netip.MustParseAddr("100.64.9.1")
		}, "members[0].monitor_address", errdefs.ErrInvalid, "member m1"},
		{"second default pool through listener_id", func(d *Desired) {
			d.Pools[2].ListenerID = "http8080" // webhttp is its default already
		}, "pools[2].listener_id", errdefs.ErrConflict, "pool api"},
		{"IPv6 member", func(d *Desired) {
			d.Members[0].Address = netip.MustParseAddr("2001:db8::5")
		}, "members[0].address", errors.ErrUnsupported, "member m1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fixture()
			tc.edit(&d)
			err := d.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			var found *errdefs.FieldError
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *errdefs.FieldError
				if errors.As(e, &fe) && fe.Path == tc.path {
					found = fe
				}
			}
			if found == nil {
				t.Fatalf("no error at %s in:\n%v", tc.path, err)
			}
			if !errors.Is(found, tc.kind) {
				t.Errorf("%v does not wrap %v", found, tc.kind)
			}
			if !strings.Contains(found.Error(), "("+tc.object+")") {
				t.Errorf("%v does not name %s", found, tc.object)
			}
		})
	}
}

func TestParseCodes(t *testing.T) {
	for in, want := range map[string][]int{"": {200}, "200,202": {200, 202}, "200-204": {200, 201, 202, 203, 204}, "301": {301}} {
		got, err := ParseCodes(in)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%q: %v %v", in, got, err)
		}
		for _, c := range want {
			if !got[c] {
				t.Errorf("%q: %d missing", in, c)
			}
		}
	}
	for _, bad := range []string{"abc", "99", "204-200", "200,", "600"} {
		if _, err := ParseCodes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSelectKeepsOneLoadBalancerWhole(t *testing.T) {
	d := fixture()
	other := fixture()
	for i := range other.Listeners {
		other.Listeners[i].ID += "-b"
		other.Listeners[i].LoadBalancerID = "lb2"
	}
	d.LoadBalancers = append(d.LoadBalancers, LoadBalancer{ID: "lb2", VIPPortID: "vipport-0001"})
	d.Listeners = append(d.Listeners, other.Listeners...)
	d.Pools = append(d.Pools, Pool{ID: "p2", LoadBalancerID: "lb2", Protocol: ProtocolTCP, LBAlgorithm: RoundRobin})
	d.Members = append(d.Members, Member{ID: "m9", PoolID: "p2"})
	got := d.Select(map[string]bool{"lb1": true})
	want := fixture().Collections
	if len(got.LoadBalancers) != 1 || len(got.Listeners) != len(want.Listeners) || len(got.Pools) != len(want.Pools) ||
		len(got.Members) != len(want.Members) || len(got.HealthMonitors) != 1 || len(got.L7Policies) != 1 {
		t.Fatalf("selected %+v", got)
	}
	if n := len(d.Select(map[string]bool{"lb2": true}).Members); n != 1 {
		t.Fatalf("lb2 has %d members", n)
	}
}

func TestCloneSharesNothingTheRealizerKeeps(t *testing.T) {
	d := fixture()
	c := d.clone()
	*d.Members[0].Weight = 7
	d.Members[1].Address = netip.MustParseAddr("100.64.1.99")
	d.L7Policies[0].Rules[0].Value = "/changed"
	d.Ports[0].FixedIPs[0].IPAddress = netip.MustParseAddr("100.64.1.98")
	d.Ports[0].MACAddress[0] = 0x02
	if *c.Members[0].Weight != 3 || c.Members[1].Address != netip.MustParseAddr("100.64.2.22") ||
		c.L7Policies[0].Rules[0].Value != "/api" || c.Ports[0].FixedIPs[0].IPAddress != netip.MustParseAddr("100.64.1.10") ||
		c.Ports[0].MACAddress[0] != 0xfa {
		t.Fatalf("clone shares state with the original: %+v", c)
	}
}
