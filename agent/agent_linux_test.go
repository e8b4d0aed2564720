package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
)

func TestMain(m *testing.M) { lab.Main(m) }

// fixture is the all-in-one example topology on a lab node: ext0 towards an
// "upstream" namespace carries physnet1, the instances are lab namespaces.
type fixture struct {
	l        *lab.Lab
	host, up *namespace.Handle
	vms      map[string]*namespace.Handle
	node     *Node
	topo     *neutrino.Topology
}

func newFixture(t *testing.T, configure ...func(*Config)) *fixture {
	t.Helper()
	l := lab.New(t)
	f := &fixture{l: l, host: l.Namespace("node1"), up: l.Namespace("upstream"), vms: map[string]*namespace.Handle{}}
	l.Link(f.host, "ext0", nil, f.up, "ext0", []string{"203.0.113.254/24"})
	l.Link(f.host, "underlay", []string{"198.18.0.1/24"}, f.up, "underlay", []string{"198.18.0.2/24"})
	f.topo = loadExample(t, "all-in-one.json")
	// The BGP speaker would peer from this test process's namespace, the
	// machine's own: the node-agent tests run it inside a node namespace.
	for i := range f.topo.Hosts {
		f.topo.Hosts[i].BGPSpeakers = nil
	}
	for i := range f.topo.Ports {
		p := &f.topo.Ports[i]
		if name := p.Profile.NetNS; name != "" {
			f.vms[name] = l.Namespace(name)
			p.Profile.NetNS = l.Manager().Path(name)
		}
	}
	cfg := Config{Host: "node1", Prefix: l.NodePrefix("node1"),
		PhysicalInterfaceMappings: map[string]string{"physnet1": "ext0"}}
	for _, c := range configure {
		c(&cfg)
	}
	node, err := New(f.host, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := node.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	f.node = node
	return f
}

func (f *fixture) apply(t *testing.T) *Report {
	t.Helper()
	rep, err := f.node.Apply(context.Background(), f.topo)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, rep)
	}
	return rep
}

// owned lists what the node's realizers own: devices with our alias in the
// node namespace, namespaces under the node prefix, our nftables tables.
func (f *fixture) owned(t *testing.T) []string {
	t.Helper()
	var out []string
	links, err := nl.Dump(f.host.Netlink().LinkList)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if _, _, ok := naming.ParseOwner(l.Attrs().Alias); ok {
			out = append(out, "device "+l.Attrs().Name)
		}
	}
	names, err := namespace.NewManager(f.l.NodePrefix("node1")).List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		out = append(out, "namespace "+n)
	}
	c, err := nftables.New(nftables.WithNetNSFd(f.host.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseLasting()
	ts, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range ts {
		if strings.HasPrefix(tb.Name, "neutrino") {
			out = append(out, "table "+tb.Name)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fixture) ping(t *testing.T, from *namespace.Handle, to string) {
	t.Helper()
	if out, err := f.l.Run(from, 20*time.Second, "ping", "-c2", "-i0.2", "-W3", to); err != nil {
		t.Errorf("ping %s from %s: %v\n%s", to, from.Name(), err, out)
	}
}

func stepNames(r *Report) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Realizer)
	}
	return out
}

var order = []string{"network", "port", "qos", "router", "firewall", "vpn", "dhcp", "secgroup", "loadbalancer", "bgp"}

func TestApplyConvergesInOrderAndIsIdempotent(t *testing.T) {
	f := newFixture(t)
	lab.RequireCmd(t, "ping")
	rep := f.apply(t)
	if got := stepNames(rep); !slices.Equal(got, order) {
		t.Errorf("realizers ran in order %v, want %v", got, order)
	}
	if rep := f.apply(t); rep.Mutations() != 0 {
		t.Errorf("second apply made %d mutations:\n%s", rep.Mutations(), rep)
	}
	if plan, err := f.node.Plan(context.Background(), f.topo); err != nil || plan.Mutations() != 0 {
		t.Errorf("plan after apply: %v\n%s", err, plan)
	}

	// The assembled node carries packets as Neutron's address scopes say:
	// 10.0.1.0/24 (vm1, vm2) shares the external network's scope, so
	// upstream, given the route BGP would give it, reaches vm1 on its
	// fixed IP; 10.0.2.0/24 (vm3) is in none, so it is SNATed out and the
	// router drops what would cross between the two. Floating IPs work.
	f.ping(t, f.up, "203.0.113.50")
	f.l.Route(f.up, "10.0.1.0/24", "203.0.113.10")
	f.ping(t, f.up, "10.0.1.11")
	f.ping(t, f.vms["vm3"], "203.0.113.254")
	if out, err := f.l.Run(f.vms["vm1"], 10*time.Second, "ping", "-c1", "-W1", "10.0.2.11"); err == nil {
		t.Errorf("vm1 (scoped) reached vm3 (unscoped) across address scopes:\n%s", out)
	}
}

func TestPlanOfAnEmptyNodeForetellsApply(t *testing.T) {
	f := newFixture(t)
	plan, err := f.node.Plan(context.Background(), f.topo)
	if left := f.owned(t); len(left) > 0 {
		t.Fatalf("plan changed the node: %v", left)
	}
	if err != nil {
		// A realizer that refuses to plan a port whose bridge does not
		// exist yet fails on a fresh node, where none does.
		var failed []string
		for _, s := range plan.Steps {
			if s.Err != nil {
				failed = append(failed, s.Realizer)
			}
		}
		bugIn(t, strings.Join(failed, ", ")+" (Plan)", "plan of an empty node fails: %v", err)
	}
	rep := f.apply(t)
	for i, s := range rep.Steps {
		if p := plan.Steps[i]; s.Mutations() != p.Mutations() {
			t.Errorf("%s: plan foresaw %d mutations, apply made %d\nplan: %v\napply: %v", s.Realizer, p.Mutations(), s.Mutations(), p.Changes, s.Changes)
		}
	}
}

// bugIn fails t for a bug of the named packages that this suite found
// (and that was fixed: it must not come back).
func bugIn(t *testing.T, pkgs, format string, args ...any) {
	t.Helper()
	t.Errorf("BUG in %s: %s", pkgs, fmt.Sprintf(format, args...))
}

func TestDestroyRemovesEverythingInReverseOrder(t *testing.T) {
	f := newFixture(t)
	f.apply(t)
	if len(f.owned(t)) == 0 {
		t.Fatal("apply realized nothing")
	}
	rep, err := f.node.Destroy(context.Background())
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, rep)
	}
	want := slices.Clone(order)
	slices.Reverse(want)
	if got := stepNames(rep); !slices.Equal(got, want) {
		t.Errorf("destroy ran %v, want %v", got, want)
	}
	if left := f.owned(t); len(left) > 0 {
		t.Errorf("destroy left %v", left)
	}
	if rep, err := f.node.Destroy(context.Background()); err != nil || rep.Mutations() != 0 {
		t.Errorf("second destroy: %v\n%s", err, rep)
	}
	// ext0 is the operator's: released from the bridge, not deleted.
	if l, err := f.host.Netlink().LinkByName("ext0"); err != nil || l.Attrs().MasterIndex != 0 {
		t.Errorf("ext0 after destroy: %v %+v", err, l)
	}
}

func TestOneFailingNetworkDoesNotStopTheRest(t *testing.T) {
	f := newFixture(t)
	lab.RequireCmd(t, "ping")
	// A foreign bridge holds tenant2's bridge name.
	tenant2 := f.topo.Networks[2].ID
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: naming.Bridge(tenant2)}}
	if err := f.host.Netlink().LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	rep, err := f.node.Apply(context.Background(), f.topo)
	if !errors.Is(err, neutrino.ErrConflict) || !strings.Contains(err.Error(), naming.Bridge(tenant2)) {
		t.Fatalf("apply beside a foreign bridge: want a conflict naming it, got %v", err)
	}
	if got := stepNames(rep); !slices.Equal(got, order) {
		t.Errorf("realizers that ran: %v, want all of %v", got, order)
	}
	for _, s := range rep.Steps {
		switch s.Realizer {
		case "secgroup":
			if s.Err != nil || s.Mutations() == 0 {
				t.Errorf("%s did not do its part: %v, %d mutations", s.Realizer, s.Err, s.Mutations())
			}
		case "router":
			// The router has an interface on tenant2: it must refuse to
			// plug into the foreign bridge, and say so.
			if !errors.Is(s.Err, neutrino.ErrConflict) || !strings.Contains(s.Err.Error(), naming.Bridge(tenant2)) {
				t.Errorf("router beside a foreign bridge: want a conflict naming it, got %v", s.Err)
			}
		}
	}
	f.ping(t, f.vms["vm1"], "10.0.1.12") // tenant1 works
	if l, err := f.host.Netlink().LinkByName(naming.Bridge(tenant2)); err != nil || l.Attrs().Alias != "" {
		t.Errorf("the foreign bridge was changed: %v %+v", err, l)
	}
}

func TestInvalidTopologyChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.topo.Subnets[1].NetworkID = "missing"
	rep, err := f.node.Apply(context.Background(), f.topo)
	if !errors.Is(err, neutrino.ErrNotFound) || !strings.Contains(err.Error(), "subnets[1].network_id") {
		t.Fatalf("apply of a dangling network_id: %v", err)
	}
	if len(rep.Steps) != 0 {
		t.Errorf("an invalid topology ran realizers: %s", rep)
	}
	if left := f.owned(t); len(left) > 0 {
		t.Errorf("an invalid topology changed the node: %v", left)
	}
}

// A request Neutrino does not realize (here an HA router) is refused as a
// whole: no realizer runs, nothing changes on the node, not even the parts
// of the document that could be realized.
func TestRefusedTopologyChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.topo.Routers[0].HA = true
	rep, err := f.node.Apply(context.Background(), f.topo)
	if !errors.Is(err, neutrino.ErrUnsupported) || !strings.Contains(err.Error(), "routers[0].ha: not realized") ||
		!strings.Contains(err.Error(), f.topo.Routers[0].ID) {
		t.Fatalf("apply of an HA router: %v", err)
	}
	if len(rep.Steps) != 0 || rep.Mutations() != 0 {
		t.Errorf("a refused topology ran realizers: %s", rep)
	}
	if left := f.owned(t); len(left) > 0 {
		t.Errorf("a refused topology changed the node: %v", left)
	}
}

func TestConcurrentCallsAreSerialized(t *testing.T) {
	f := newFixture(t)
	f.apply(t) // a plan needs the bridges (see TestPlanOfAnEmptyNodeForetellsApply)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, errs[i] = f.node.Apply(context.Background(), f.topo)
			} else {
				_, errs[i] = f.node.Plan(context.Background(), f.topo)
			}
			_ = f.node.BGP()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if rep := f.apply(t); rep.Mutations() != 0 {
		t.Errorf("after concurrent applies, another apply made %d mutations:\n%s", rep.Mutations(), rep)
	}
}

func TestCanceledContextStopsBeforeTheNextRealizer(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := f.node.Apply(ctx, f.topo)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("apply with a canceled context: %v", err)
	}
	if len(rep.Steps) != 0 {
		t.Errorf("realizers ran after cancellation:\n%s", rep)
	}
	if left := f.owned(t); len(left) > 0 {
		t.Errorf("a canceled apply changed the node: %v", left)
	}
}
