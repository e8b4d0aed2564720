package secgroup

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

// TestRemovingRuleStopsEstablishedFlow: a TCP connection a rule allowed
// stops carrying data once the rule is gone, although conntrack had it as
// established: Apply deletes its conntrack entry.
func TestRemovingRuleStopsEstablishedFlow(t *testing.T) {
	w, a, b, c := newTrio(t)
	va, vb := w.vms[a.ID], w.vms[b.ID]
	with := Desired{Groups: []SecurityGroup{group("ga", true, anyOut()...), group("gb", true, ports("tcp", 5001, 5001)),
		group("gc", true, anyOut()...)}, Ports: []port.Port{a, b, c}}
	w.apply(with)

	var ln net.Listener
	if err := vb.Do(func() (err error) { ln, err = net.Listen("tcp", "100.64.1.20:5001"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	var cli net.Conn
	if err := va.Do(func() (err error) { cli, err = net.DialTimeout("tcp", "100.64.1.20:5001", time.Second); return err }); err != nil {
		t.Fatalf("connect while allowed: %v", err)
	}
	defer cli.Close()
	srv := <-accepted
	defer srv.Close()
	rd := bufio.NewReader(srv)
	send := func(msg string) bool {
		if _, err := cli.Write([]byte(msg + "\n")); err != nil {
			return false
		}
		_ = srv.SetReadDeadline(time.Now().Add(time.Second))
		line, err := rd.ReadString('\n')
		return err == nil && line == msg+"\n"
	}
	if !send("hello") {
		t.Fatal("control: data on the established connection did not arrive")
	}

	without := with
	without.Groups = []SecurityGroup{with.Groups[0], group("gb", true), with.Groups[2]}
	rep := w.apply(without)
	if rep.Deleted["conntrack"] == 0 {
		t.Errorf("removing the rule cleared no connections: %v", rep.Changes)
	}
	if send("still there?") {
		t.Error("the established flow still carries data after its rule was removed")
	}
}

// TestConntrackZonesSeparateOverlappingNetworks: two networks use the same
// addresses; a flow on one must not make look-alike packets on the other
// "established".
func TestConntrackZonesSeparateOverlappingNetworks(t *testing.T) {
	w := newWorld(t)
	gz := group("gz", true, append(anyOut(), ports("udp", 5000, 5000))...)
	a1 := mkPort("a1a1a1a1-0000-4000-8000-000000000001", "net1", "fa:16:3e:00:01:01", []string{"gz"}, "100.64.1.10")
	b1 := mkPort("b1b1b1b1-0000-4000-8000-000000000001", "net1", "fa:16:3e:00:01:02", []string{"gz"}, "100.64.1.20")
	a2 := mkPort("a2a2a2a2-0000-4000-8000-000000000002", "net2", "fa:16:3e:00:02:01", []string{"gz"}, "100.64.1.10")
	b2 := mkPort("b2b2b2b2-0000-4000-8000-000000000002", "net2", "fa:16:3e:00:02:02", []string{"gz"}, "100.64.1.20")
	for _, p := range []port.Port{a1, b1, a2, b2} {
		w.plug(p, cidrs(p)...)
	}
	w.apply(Desired{Groups: []SecurityGroup{gz}, Ports: []port.Port{a1, b1, a2, b2}})
	ipA, ipB := netip.MustParseAddr("100.64.1.10"), netip.MustParseAddr("100.64.1.20")
	if !udpProbe(t, w.vms[a1.ID], w.vms[b1.ID], ipA, ipB, 4000, 5000) {
		t.Fatal("control: request on net1 dropped")
	}
	if !udpProbe(t, w.vms[b1.ID], w.vms[a1.ID], ipB, ipA, 5000, 4000) {
		t.Fatal("control: reply on net1 dropped")
	}
	if udpProbe(t, w.vms[b2.ID], w.vms[a2.ID], ipB, ipA, 5000, 4000) {
		t.Error("a look-alike reply on net2 was delivered: conntrack zones do not separate the networks")
	}
	if !udpProbe(t, w.vms[a2.ID], w.vms[b2.ID], ipA, ipB, 4001, 5000) {
		t.Fatal("control: request on net2 dropped")
	}
	zones := regexp.MustCompile(`zone=(\d+)`).FindAllStringSubmatch(w.l.MustRun(w.host, "conntrack", "-L", "-p", "udp"), -1)
	seen := map[string]bool{}
	for _, z := range zones {
		seen[z[1]] = true
	}
	if len(seen) != 2 {
		t.Errorf("conntrack entries in zones %v, want one zone per network", seen)
	}
}

func lifecycleDesired(a, b, c port.Port) Desired {
	return Desired{Groups: []SecurityGroup{group("ga", true, anyOut()...), group("gb", true, fromGroup(ports("tcp", 80, 80), "ga")),
		group("gc", true, anyOut()...)}, Ports: []port.Port{a, b, c}}
}

func TestSecondApplyIsNoOpAndPlanChangesNothing(t *testing.T) {
	w, a, b, c := newTrio(t)
	d := lifecycleDesired(a, b, c)
	plan, err := w.r.Plan(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Mutations() == 0 {
		t.Fatal("Plan of a first apply reports no changes")
	}
	if out := w.nft("list", "tables"); strings.Contains(out, TableName) {
		t.Fatalf("Plan created tables:\n%s", out)
	}
	first := w.apply(d)
	if first.Mutations() != plan.Mutations() {
		t.Errorf("Apply made %d changes, Plan announced %d", first.Mutations(), plan.Mutations())
	}
	if rep := w.apply(d); rep.Mutations() != 0 {
		t.Errorf("second apply: %s %v", rep, rep.Changes)
	}
	// A new realizer has no cache: it reads the kernel back and agrees.
	r2, err := NewRealizer(w.host)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := r2.Apply(context.Background(), d); err != nil || rep.Mutations() != 0 {
		t.Errorf("fresh realizer: %v %v %v", rep, err, rep.Changes)
	}
}

var handleRE = regexp.MustCompile(`accept comment "sg gb rule [^"]*" # handle (\d+)`)

func TestRuleDeletedByHandIsRestored(t *testing.T) {
	w, a, b, c := newTrio(t)
	d := lifecycleDesired(a, b, c)
	w.apply(d)
	va, vb := w.vms[a.ID], w.vms[b.ID]
	if !tcpProbe(t, va, vb, ipB, 80) {
		t.Fatal("control: allowed traffic dropped")
	}
	m := handleRE.FindStringSubmatch(w.nft("-a", "list", "chain", "inet", TableName, "sg-gb-ingress"))
	if m == nil {
		t.Fatal("rule not found in nft -a list")
	}
	w.nft("delete", "rule", "inet", TableName, "sg-gb-ingress", "handle", m[1])
	w.nft("delete", "element", "inet", TableName, "rg-ga-v4", "{", ipA.String(), "}")
	if tcpProbe(t, va, vb, ipB, 80) {
		t.Fatal("traffic still allowed after deleting the rule by hand")
	}
	// Without its number in the mark B would be unfiltered: tampering with
	// the bridge table opens ports until the next Apply (as deleting
	// Neutron's iptables rules would).
	w.nft("flush", "chain", "bridge", TableName, "to-tapbbbbbbbb-00")
	rep := w.apply(d)
	if rep.Updated["chain"] != 2 || rep.Created["element"] != 1 {
		t.Errorf("restore: %s %v", rep, rep.Changes)
	}
	if !tcpProbe(t, va, vb, ipB, 80) {
		t.Error("traffic not allowed again after the restoring apply")
	}
	if rep := w.apply(d); rep.Mutations() != 0 {
		t.Errorf("apply after restore: %s %v", rep, rep.Changes)
	}
}

func TestForeignTablesAreUntouched(t *testing.T) {
	w, a, b, c := newTrio(t)
	foreign := `table inet foreign {
	set s {
		type ipv4_addr
		elements = { 192.0.2.1 }
	}
	chain input {
		type filter hook input priority 0; policy accept;
		counter comment "theirs"
	}
}
table ip neutrino {
	chain c {
		ip saddr 192.0.2.2 drop
	}
}
table bridge other {
	chain fwd2 {
		type filter hook forward priority 0; policy accept;
	}
}
`
	loadNFT(t, w, foreign)
	before := w.nft("list", "ruleset")
	w.apply(lifecycleDesired(a, b, c))
	w.apply(Desired{})
	after := w.nft("list", "ruleset")
	if section(after, "table inet "+TableName) != "" || section(after, "table bridge "+TableName) != "" {
		t.Errorf("a node without ports keeps its tables:\n%s", after)
	}
	for _, tbl := range []string{"table inet foreign", "table ip neutrino", "table bridge other"} {
		if section(before, tbl) != section(after, tbl) || section(after, tbl) == "" {
			t.Errorf("%s changed:\nbefore:\n%s\nafter:\n%s", tbl, section(before, tbl), section(after, tbl))
		}
	}
}

// section returns the listing of one table in an nft ruleset listing.
func section(listing, header string) string {
	i := strings.Index(listing, header+" {")
	if i < 0 {
		return ""
	}
	j := strings.Index(listing[i:], "\n}")
	return listing[i : i+j+2]
}

func loadNFT(t *testing.T, w *world, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := w.l.Command(ctx, w.host, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft -f: %v\n%s", err, out)
	}
}

func TestInvalidRulesAreRejectedBeforeProgramming(t *testing.T) {
	w, a, b, c := newTrio(t)
	good := lifecycleDesired(a, b, c)
	bad := []struct {
		name string
		mut  func(d *Desired)
		kind error
	}{
		{"port 0", func(d *Desired) { d.Groups[1].Rules[0].PortRangeMin = intp(0) }, errdefs.ErrInvalid},
		{"min > max", func(d *Desired) { d.Groups[1].Rules[0].PortRangeMin = intp(90) }, errdefs.ErrInvalid},
		{"unknown protocol", func(d *Desired) { d.Groups[1].Rules[0].Protocol = "tcpp" }, errdefs.ErrInvalid},
		{"ICMP code without type", func(d *Desired) {
			d.Groups[1].Rules[0] = icmpRule(IPv4, "icmp", nil, intp(0))
			d.Groups[1].Rules[0].ID = "x"
		}, errdefs.ErrInvalid},
		{"prefix of the other family", func(d *Desired) { d.Groups[1].Rules[0].RemoteIPPrefix = netip.MustParsePrefix("2001:db8::/32") }, errdefs.ErrInvalid},
		{"unknown remote group", func(d *Desired) { d.Groups[1].Rules[0].RemoteGroupID = "nope" }, errdefs.ErrNotFound},
		{"unknown group on a port", func(d *Desired) { d.Ports[0].SecurityGroups = []string{"nope"} }, errdefs.ErrNotFound},
		{"stateful and stateless on one port", func(d *Desired) {
			off := false
			d.Groups[2].Stateful = &off
			d.Ports[0].SecurityGroups = []string{"ga", "gc"}
		}, errdefs.ErrConflict},
	}
	check := func(when string) {
		before := w.nft("list", "ruleset")
		for _, tc := range bad {
			d := cloneDesired(good)
			tc.mut(&d)
			if _, err := w.r.Apply(context.Background(), d); !errors.Is(err, tc.kind) {
				t.Errorf("%s, %s: error %v, want %v", when, tc.name, err, tc.kind)
			}
		}
		if after := w.nft("list", "ruleset"); after != before {
			t.Errorf("%s: a rejected apply changed the ruleset", when)
		}
	}
	check("on an empty node")
	w.apply(good)
	check("over a programmed node")
}

func cloneDesired(d Desired) Desired {
	out := Desired{Ports: append([]port.Port(nil), d.Ports...), AddressGroups: d.AddressGroups}
	for _, g := range d.Groups {
		g.Rules = append([]Rule(nil), g.Rules...)
		out.Groups = append(out.Groups, g)
	}
	return out
}

// TestChangesTouchOnlyWhatChanged: a membership change is an element, a
// rule change rewrites one chain, a port brings its own objects.
func TestChangesTouchOnlyWhatChanged(t *testing.T) {
	w, a, b, c := newTrio(t)
	d := lifecycleDesired(a, b, c)
	w.apply(d)
	step := func(name string, d Desired, check func(r *Report) bool) {
		t.Helper()
		rep := w.apply(d)
		if !check(rep) {
			t.Errorf("%s: %s\n%s", name, rep, strings.Join(rep.Changes, "\n"))
		}
		if again := w.apply(d); again.Mutations() != 0 {
			t.Errorf("%s, applied again: %s", name, again)
		}
	}
	remote := mkPort("eeeeeeee-0000-4000-8000-00000000000e", "net1", "fa:16:3e:00:00:0e", []string{"ga"}, "100.64.9.1")
	remote.HostID = "node2"
	d.Members = []port.Port{remote}
	step("a remote member joins", d, func(r *Report) bool { return r.Mutations() == 1 && r.Created["element"] == 1 })

	d.Groups[1] = group("gb", true, fromGroup(ports("tcp", 81, 81), "ga"))
	step("a rule changes", d, func(r *Report) bool {
		return r.Updated["chain"] == 1 && r.Created["chain"] == 0 && r.Created["element"]+r.Deleted["element"] == 0 && r.Deleted["conntrack"] == 1
	})

	e := mkPort("dddddddd-0000-4000-8000-00000000000d", "net1", "fa:16:3e:00:00:0d", []string{"ga"}, "100.64.1.40")
	w.plug(e, cidrs(e)...)
	d.Ports = append(d.Ports, e)
	step("a port is added", d, func(r *Report) bool {
		return r.Created["chain"] == 1 && r.Updated["chain"] == 0 && r.Deleted["chain"] == 0
	})
	if !tcpProbe(t, w.vms[e.ID], w.vms[b.ID], ipB, 81) {
		t.Error("the new member port cannot reach B")
	}
	d.Ports = d.Ports[:3]
	step("a port is removed", d, func(r *Report) bool { return r.Deleted["chain"] == 1 && r.Updated["chain"] == 0 })

	d.Members = nil
	step("a remote member leaves", d, func(r *Report) bool {
		return r.Deleted["element"] == 1 && r.Deleted["conntrack"] == 1 && r.Mutations() == 2
	})
}

// TestIntervalsMergeAndSplitInOneTransaction: a member between two others
// merges their intervals, an address pair growing over a fixed IP merges
// pairs; the kernel rejects overlapping elements, so deletions and
// additions must land in the right order within the transaction.
func TestIntervalsMergeAndSplitInOneTransaction(t *testing.T) {
	w := newWorld(t)
	g := group("g", true, fromGroup(ports("tcp", 80, 80), "g"))
	p := mkPort("p0p0p0p0-0000-4000-8000-000000000000", "net1", "fa:16:3e:00:00:01", []string{"g"}, "100.64.5.1")
	member := func(i int, ip string) port.Port {
		m := mkPort("m"+strings.Repeat(string(rune('a'+i)), 7)+"-0000-4000-8000-000000000000", "net1", "fa:16:3e:00:01:01", []string{"g"}, ip)
		m.HostID = "node2"
		return m
	}
	d := Desired{Groups: []SecurityGroup{g}, Ports: []port.Port{p}, Members: []port.Port{member(0, "100.64.5.10"), member(1, "100.64.5.12")}}
	w.apply(d)
	for _, step := range []func(){
		func() { d.Members = append(d.Members, member(2, "100.64.5.11")) },
		func() { d.Members = d.Members[:2] },
		func() {
			d.Ports[0].AllowedAddressPairs = []port.AddressPair{{IPAddress: netip.MustParsePrefix("100.64.5.0/28")}}
		},
		func() {
			d.Ports[0].AllowedAddressPairs = []port.AddressPair{{IPAddress: netip.MustParsePrefix("100.64.4.0/23")}}
		},
		func() { d.Ports[0].AllowedAddressPairs = nil },
	} {
		step()
		w.apply(d)
		if rep := w.apply(d); rep.Mutations() != 0 {
			t.Errorf("not converged: %v", rep.Changes)
		}
	}
	if out := strings.Join(strings.Fields(w.nft("list", "set", "inet", TableName, "rg-g-v4")), " "); !strings.Contains(out, "100.64.5.1, 100.64.5.10, 100.64.5.12 }") {
		t.Errorf("members:\n%s", out)
	}
}
