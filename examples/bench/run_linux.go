package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// config is one bench run's settings.
type config struct {
	size       Size
	reps       int
	settle     time.Duration // pause after a node is removed, for the kernel's namespace cleanup
	cpuProfile string
	command    string
	log        io.Writer
	// realizerReps is how many times a change is measured at the
	// realizer level per repetition.
	realizerReps int
	verbose      bool
}

// bench is one run in progress.
type bench struct {
	cfg   config
	w     *world
	tops  *Topologies
	files map[string]string
	ref   *reference
	dhcp  []*dhcpNet // base's DHCP networks, for dnsmasq
	plans map[style]plans
	res   *results
}

func (b *bench) logf(format string, args ...any) { fmt.Fprintf(b.cfg.log, format, args...) }

// run measures everything and returns the figures. Cleanup is the
// caller's (w.cleanup), also on error.
func run(w *world, cfg config) (*results, error) {
	b := &bench{cfg: cfg, w: w}
	b.res = &results{Command: cfg.command, Size: cfg.size, Reps: cfg.reps, Machine: machineInfo()}
	var err error
	if b.tops, err = generate(cfg.size); err != nil {
		return nil, err
	}
	if b.files, err = w.writeDocs(b.tops); err != nil {
		return nil, err
	}
	b.dhcp = dhcpNets(b.tops.Base)

	b.logf("reference run (Neutrino's realizers one by one, dumping the node after each document): ")
	b.ref, err = w.buildReference(b.files, func(s string) { b.logf("%s ", s) })
	if err != nil {
		return nil, err
	}
	b.logf("\n")
	b.res.Steps = b.ref.steps
	b.res.State = map[string]string{}
	for k, c := range summarize(b.ref.base) {
		b.res.State[k] = c.String()
		b.logf("  %-8s %s\n", k, c)
	}
	b.plans = map[style]plans{perOp: b.ref.plans(perOp), batched: b.ref.plans(batched)}
	b.settle()

	sc := newScenarios(cfg.size)
	b.res.Scenarios = sc.list
	sides := []string{"neutrino", "A", "B"}
	for rep := 1; rep <= cfg.reps; rep++ {
		order := slices.Clone(sides)
		rotate(order, rep-1)
		for _, side := range order {
			b.logf("rep %d/%d %-8s ", rep, cfg.reps, side)
			start := time.Now()
			var err error
			switch side {
			case "neutrino":
				err = b.neutrino(rep, sc)
				if err == nil {
					err = b.realizerLevel(rep, sc)
				}
			case "A":
				err = b.baseline(rep, perOp, sc)
			case "B":
				err = b.baseline(rep, batched, sc)
			}
			if err != nil {
				return b.res, fmt.Errorf("rep %d, %s: %w", rep, side, err)
			}
			b.logf(" (%s)\n", time.Since(start).Round(100*time.Millisecond))
		}
	}
	for _, s := range sc.list {
		s.finish()
	}
	sc.kernel.Note = fmt.Sprintf("A runs %s; B runs %s; each then starts %d dnsmasq",
		breakdown(b.plans[perOp].bringUp, perOp), breakdown(b.plans[batched].bringUp, batched), len(b.dhcp))
	b.res.Machine.LoadEnd = loadAvg()
	b.res.judge()
	return b.res, nil
}

func rotate(xs []string, k int) {
	k %= len(xs)
	tmp := append(slices.Clone(xs[k:]), xs[:k]...)
	copy(xs, tmp)
}

// settle waits for the kernel to tear down removed namespaces in the
// background, so that the next measurement does not pay for it.
func (b *bench) settle() { time.Sleep(b.cfg.settle) }

// scenarios are the rows, in the table's order.
type scenarios struct {
	list                                             []*scenario
	bringup, kernel, noop, port, portR, teardown     *scenario
	scaleUp, member, memberR, fip, fipR, rss, rssEnd *scenario
}

func newScenarios(size Size) *scenarios {
	s := &scenarios{}
	mk := func(id, title, unit string, n, a, b bool) *scenario {
		x := &scenario{ID: id, Title: title, Unit: unit}
		if n {
			x.N = &series{}
		}
		if a {
			x.A = &series{}
		}
		if b {
			x.B = &series{}
		}
		s.list = append(s.list, x)
		return x
	}
	s.bringup = mk("bringup", "bring-up from scratch", "ms", true, true, true)
	s.kernel = mk("bringup-kernel", "  kernel state only (baselines without dnsmasq)", "ms", true, true, true)
	s.noop = mk("noop", "no-op Apply", "ms", true, false, false)
	s.port = mk("port", "one port added (node Apply)", "ms", true, true, true)
	s.portR = mk("port-realizers", "  the port and secgroup realizers", "ms", true, false, false)
	s.teardown = mk("teardown", "teardown", "ms", true, true, true)
	s.scaleUp = mk("scale-bringup", "bring-up of the scale variant", "ms", true, false, false)
	s.member = mk("member", fmt.Sprintf("SG membership change at %s members (node Apply)", count(size.Members)), "ms", true, true, true)
	s.memberR = mk("member-realizer", "  the secgroup realizer", "ms", true, false, false)
	s.fip = mk("fip", fmt.Sprintf("FIP added at %s FIPs (node Apply)", count(size.FIPs)), "ms", true, true, true)
	s.fipR = mk("fip-realizer", "  the router realizer", "ms", true, false, false)
	s.rss = mk("rss", "peak RSS at the bring-up state", "MB", true, false, false)
	s.rssEnd = mk("rss-end", "peak RSS after the scale variant", "MB", true, false, false)
	return s
}

// neutrino is one repetition of Neutrino's side, in a child process of
// its own on a fresh node.
func (b *bench) neutrino(rep int, sc *scenarios) error {
	n, err := b.w.newNode(fmt.Sprintf("r%dn", rep))
	if err != nil {
		return err
	}
	defer func() { _ = n.remove(); b.settle() }()
	a, err := b.w.startAgent(n)
	if err != nil {
		return err
	}
	defer a.stop()
	// The scale variant's documents are loaded after the bring-up
	// state's memory is measured.
	if err := loadDocs(a, b.files, "base", "plus"); err != nil {
		return err
	}
	call := b.caller(a)
	profile := rep == 1 && b.cfg.cpuProfile != ""
	if profile {
		if _, err := call(request{Op: "profile-start", File: b.cfg.cpuProfile}); err != nil {
			return err
		}
		b.res.Profile = b.cfg.cpuProfile
	}
	up, err := call(request{Op: "apply", Name: "base"})
	if err != nil {
		return err
	}
	if profile {
		if _, err := call(request{Op: "profile-stop"}); err != nil {
			return err
		}
	}
	sc.bringup.N.add(up.Millis)
	sc.kernel.N.add(up.Millis)
	sc.bringup.Note = fmt.Sprintf("Neutrino's bring-up uses %.0f ms of CPU (median of the last run) for %d mutations", up.CPUMillis, up.Mutations)
	if err := b.check(n, b.ref.base, "Neutrino bring-up"); err != nil {
		return err
	}
	// Changes are measured on a settled node: the bring-up's gratuitous
	// ARP bursts over.
	if _, err := call(request{Op: "quiesce"}); err != nil {
		return err
	}
	noop, err := call(request{Op: "apply", Name: "base"})
	if err != nil {
		return err
	}
	sc.noop.N.add(noop.Millis)
	sc.noop.N.Mutations = append(sc.noop.N.Mutations, noop.Mutations)
	if noop.Mutations != 0 {
		b.logf("\nno-op Apply made %d mutations:\n%s", noop.Mutations, noop.Report)
	}
	mem, err := call(request{Op: "rss"})
	if err != nil {
		return err
	}
	sc.rss.N.add(float64(mem.HWM) / 1024)
	port, err := call(request{Op: "apply", Name: "plus"})
	if err != nil {
		return err
	}
	sc.port.N.add(port.Millis)
	sc.port.N.Mutations = append(sc.port.N.Mutations, port.Mutations)
	// The same change made by the realizers it concerns: back to base
	// with them (not measured), then the port again.
	if _, err := call(request{Op: "realizer", Which: "port,secgroup", Name: "base"}); err != nil {
		return err
	}
	portR, err := call(request{Op: "realizer", Which: "port,secgroup", Name: "plus"})
	if err != nil {
		return err
	}
	sc.portR.N.add(portR.Millis)
	sc.portR.N.Mutations = append(sc.portR.N.Mutations, objects(portR))
	sc.portR.Note = "port: " + kindList(portR.Steps[0].Kinds) + "; secgroup: " + kindList(portR.Steps[1].Kinds)
	if err := b.check(n, b.ref.plus, "Neutrino port added"); err != nil {
		return err
	}
	down, err := call(request{Op: "destroy"})
	if err != nil {
		return err
	}
	sc.teardown.N.add(down.Millis)
	sc.teardown.Note = fmt.Sprintf("Neutrino's teardown uses %.0f ms of CPU (last run): the rest is waiting in the kernel", down.CPUMillis)
	if err := b.check(n, b.ref.after, "Neutrino teardown"); err != nil {
		return err
	}

	if err := loadDocs(a, b.files, "scale", "scale1", "scale2"); err != nil {
		return err
	}
	scale, err := call(request{Op: "apply", Name: "scale"})
	if err != nil {
		return err
	}
	sc.scaleUp.N.add(scale.Millis)
	if _, err := call(request{Op: "quiesce"}); err != nil {
		return err
	}
	member, err := call(request{Op: "apply", Name: "scale1"})
	if err != nil {
		return err
	}
	sc.member.N.add(member.Millis)
	sc.member.N.Mutations = append(sc.member.N.Mutations, member.Mutations)
	fip, err := call(request{Op: "apply", Name: "scale2"})
	if err != nil {
		return err
	}
	sc.fip.N.add(fip.Millis)
	sc.fip.N.Mutations = append(sc.fip.N.Mutations, fip.Mutations)
	if err := b.check(n, b.ref.scale2, "Neutrino scale variant"); err != nil {
		return err
	}
	mem, err = call(request{Op: "rss"})
	if err != nil {
		return err
	}
	sc.rssEnd.N.add(float64(mem.HWM) / 1024)
	return nil // the node's namespaces go with the node, all at once
}

// objects counts a realizer op's kernel objects: its mutations but the
// conntrack cleanups, each a filter of one conntrack table walk.
func objects(r response) int {
	n := r.Mutations
	for _, st := range r.Steps {
		n -= st.Kinds["deleted conntrack"]
	}
	return n
}

func kindList(k map[string]int) string {
	var parts []string
	for _, key := range slicesKeys(k) {
		parts = append(parts, fmt.Sprintf("%s=%d", key, k[key]))
	}
	return strings.Join(parts, ", ")
}

// profileLoops writes CPU profiles of the incremental changes at the
// realizer level and of the no-op Apply, each repeated to gather samples
// (not measured): <cpuprofile>.member, .fip, .noop-scale.
func (b *bench) profileLoops(call func(request) (response, error)) error {
	loops := []struct {
		suffix string
		reqs   []request
	}{
		{"member", []request{{Op: "realizer", Which: "secgroup", Name: "scale"}, {Op: "realizer", Which: "secgroup", Name: "scale1"}}},
		{"fip", []request{{Op: "realizer", Which: "router", Name: "scale1"}, {Op: "realizer", Which: "router", Name: "scale2"}}},
		{"noop-scale", []request{{Op: "steps", Name: "scale2"}}},
	}
	for _, l := range loops {
		if _, err := call(request{Op: "profile-start", File: b.cfg.cpuProfile + "." + l.suffix}); err != nil {
			return err
		}
		for range 40 {
			for _, r := range l.reqs {
				if _, err := call(r); err != nil {
					return err
				}
			}
		}
		if _, err := call(request{Op: "profile-stop"}); err != nil {
			return err
		}
	}
	return nil
}

// breakdown says what processes a plan runs.
func breakdown(p plan, sty style) string {
	if sty == batched {
		groups := map[string]bool{}
		for _, o := range p {
			key := o.Tool + " " + o.NS
			switch o.Tool {
			case "netns-add":
				key = "ip netns"
			case "netns-del":
				key = "ip node"
			case "nft":
				key += " " + o.Table
			}
			groups[key] = true
		}
		by := map[string]int{}
		for g := range groups {
			tool, _, _ := strings.Cut(g, " ")
			by[map[string]string{"ip": "ip -batch", "netns-add": "ip -batch (netns add)", "netns-del": "ip -batch",
				"nft": "nft -f", "sysctl": "sysctl", "bridge": "bridge -batch"}[tool]]++
		}
		return fmt.Sprintf("%d processes (%s)", len(groups), kindList(by))
	}
	by := map[string]int{}
	for _, o := range p {
		by[o.Tool]++
	}
	return fmt.Sprintf("%d processes (%s)", len(p), kindList(by))
}

// caller sends requests to a child, logging them.
func (b *bench) caller(a *agentProc) func(request) (response, error) {
	return func(req request) (response, error) {
		res, err := a.call(req)
		if b.cfg.verbose {
			b.logf("\n  %s %s %s: %.1f ms (cpu %.1f ms), %d mutations, %d fds", req.Op, req.Which, req.Name, res.Millis, res.CPUMillis, res.Mutations, res.FDs)
		} else {
			b.logf(".")
		}
		return res, err
	}
}

// realizerLevel measures the incremental changes where they are made:
// the secgroup realizer for a membership change, the router realizer for
// a floating IP, alone and repeated. It runs in a child and on a node of
// its own, with one set of realizers (two router realizers in one process
// at this scale would cross the nftables library's 1024-descriptor limit).
func (b *bench) realizerLevel(rep int, sc *scenarios) error {
	n, err := b.w.newNode(fmt.Sprintf("r%dm", rep))
	if err != nil {
		return err
	}
	defer func() { _ = n.remove(); b.settle() }()
	a, err := b.w.startAgent(n)
	if err != nil {
		return err
	}
	defer a.stop()
	if err := loadDocs(a, b.files, "scale", "scale1", "scale2"); err != nil {
		return err
	}
	call := b.caller(a)
	if _, err := call(request{Op: "steps", Name: "scale2"}); err != nil {
		return err
	}
	if _, err := call(request{Op: "quiesce"}); err != nil {
		return err
	}
	// Several times: leave and join, FIP off and on.
	var (
		joins, adds     []float64
		joinMut, addMut int
		joinK, addK     map[string]int
	)
	for i := 0; i <= b.cfg.realizerReps; i++ {
		if _, err := call(request{Op: "realizer", Which: "secgroup", Name: "scale"}); err != nil {
			return err
		}
		r, err := call(request{Op: "realizer", Which: "secgroup", Name: "scale1"})
		if err != nil {
			return err
		}
		if _, err := call(request{Op: "realizer", Which: "router", Name: "scale1"}); err != nil {
			return err
		}
		f, err := call(request{Op: "realizer", Which: "router", Name: "scale2"})
		if err != nil {
			return err
		}
		if i > 0 {
			joins, adds = append(joins, r.Millis), append(adds, f.Millis)
			joinMut, addMut = max(joinMut, objects(r)), max(addMut, objects(f))
			joinK, addK = r.Steps[0].Kinds, f.Steps[0].Kinds
		}
	}
	sc.memberR.Note = "one join: " + kindList(joinK)
	sc.fipR.Note = "one FIP: " + kindList(addK)
	if b.cfg.cpuProfile != "" && rep == 1 {
		if err := b.profileLoops(call); err != nil {
			return err
		}
	}
	sc.memberR.N.add(medianOf(joins))
	sc.memberR.N.Mutations = append(sc.memberR.N.Mutations, joinMut)
	sc.fipR.N.add(medianOf(adds))
	sc.fipR.N.Mutations = append(sc.fipR.N.Mutations, addMut)
	return nil
}

func medianOf(v []float64) float64 {
	s := (&series{Values: v}).summary()
	if s == nil {
		return 0
	}
	return s.Median
}

// baseline is one repetition of baseline A or B on a fresh node.
func (b *bench) baseline(rep int, sty style, sc *scenarios) error {
	name := map[style]string{perOp: "A", batched: "B"}[sty]
	n, err := b.w.newNode(fmt.Sprintf("r%d%s", rep, strings.ToLower(name)))
	if err != nil {
		return err
	}
	defer func() { _ = n.remove(); b.settle() }()
	dm, err := b.w.newDnsmasqs(n)
	if err != nil {
		return err
	}
	defer func() { _ = dm.stop(&runner{n: n}, batched) }()
	p := b.plans[sty]
	side := func(s *scenario) *series {
		if sty == perOp {
			return s.A
		}
		return s.B
	}
	// Bring-up: the kernel state, then one dnsmasq per network.
	start := time.Now()
	procs, err := b.runPlan(n, "bring-up", p.bringUp, sty)
	if err != nil {
		return fmt.Errorf("bring-up: %w", err)
	}
	kernel := time.Since(start)
	r := &runner{n: n}
	if err := n.h.Do(func() error { return dm.start(r, b.dhcp) }); err != nil {
		return fmt.Errorf("dnsmasq: %w", err)
	}
	total := time.Since(start)
	side(sc.bringup).add(ms(total))
	side(sc.bringup).Procs = procs + r.procs
	side(sc.kernel).add(ms(kernel))
	side(sc.kernel).Procs = procs
	b.logf(".")
	if err := b.check(n, b.ref.base, "baseline "+name+" bring-up"); err != nil {
		return err
	}

	// One port: its objects, and dnsmasq's hosts file with a SIGHUP.
	net0 := b.tops.BasePlusPort.Ports[len(b.tops.BasePlusPort.Ports)-1].NetworkID
	var plusNet *dhcpNet
	for _, d := range dhcpNets(b.tops.BasePlusPort) {
		if d.id == net0 {
			plusNet = d
		}
	}
	start = time.Now()
	procs, err = b.runPlan(n, "port", p.port, sty)
	if err != nil {
		return fmt.Errorf("port: %w", err)
	}
	r = &runner{n: n}
	if err := n.h.Do(func() error { return dm.reload(r, plusNet, sty) }); err != nil {
		return err
	}
	side(sc.port).add(ms(time.Since(start)))
	side(sc.port).Procs = procs + r.procs
	b.logf(".")
	if err := b.check(n, b.ref.plus, "baseline "+name+" port added"); err != nil {
		return err
	}

	// Teardown: stop the daemons, remove the state.
	start = time.Now()
	r = &runner{n: n}
	if err := n.h.Do(func() error { return dm.stop(r, sty) }); err != nil {
		return err
	}
	procs, err = b.runPlan(n, "teardown", p.teardown, sty)
	if err != nil {
		return fmt.Errorf("teardown: %w", err)
	}
	side(sc.teardown).add(ms(time.Since(start)))
	side(sc.teardown).Procs = procs + r.procs
	b.logf(".")
	if err := b.check(n, b.ref.after, "baseline "+name+" teardown"); err != nil {
		return err
	}

	// The scale variant, made the fast way (not measured), then one
	// membership change and one FIP.
	if _, err := b.runPlan(n, "scale variant", b.ref.scaleUp(), batched); err != nil {
		return fmt.Errorf("scale variant: %w", err)
	}
	if err := n.h.Do(func() error { return dm.start(&runner{n: n}, dhcpNets(b.tops.Scale)) }); err != nil {
		return fmt.Errorf("dnsmasq: %w", err)
	}
	for _, x := range []struct {
		s *scenario
		p plan
	}{{sc.member, p.member}, {sc.fip, p.fip}} {
		start = time.Now()
		procs, err := b.runPlan(n, x.s.ID, x.p, sty)
		if err != nil {
			return fmt.Errorf("%s: %w", x.s.ID, err)
		}
		side(x.s).add(ms(time.Since(start)))
		side(x.s).Procs = procs
		b.logf(".")
	}
	return b.check(n, b.ref.scale2, "baseline "+name+" scale variant")
}

func (b *bench) runPlan(n *node, what string, p plan, sty style) (int, error) {
	var (
		r   *runner
		err error
	)
	if sty == perOp {
		r, err = n.runPerOp(p)
	} else {
		r, err = n.runBatched(p, b.w.dir)
	}
	if b.cfg.verbose && r != nil {
		b.logf("\n  %s: %d processes: %s", what, r.procs, r)
	}
	if r == nil {
		return 0, err
	}
	return r.procs, err
}

// check dumps the node and compares it with want; a difference fails the
// run, printing what differs.
func (b *bench) check(n *node, want *state, what string) error {
	got, err := dumpNode(n, b.ref.keys)
	if err != nil {
		return err
	}
	diffs := diffReport(want, got, 20)
	if len(diffs) > 0 {
		return fmt.Errorf("%s: the state differs from Neutrino's reference:\n  %s", what, strings.Join(diffs, "\n  "))
	}
	line := fmt.Sprintf("%-32s same state as the reference:", what)
	sum := summarize(got)
	for _, k := range slicesKeys(sum) {
		c := sum[k]
		line += fmt.Sprintf(" %s{%d ns, %d dev, %d addr, %d route, %d chain, %d rule, %d elem, %d dhcp}",
			k, c.Namespaces, c.Devices, c.Addrs, c.Routes, c.Chains, c.Rules, c.Elements, c.DHCP)
	}
	b.res.Checks = append(b.res.Checks, line)
	return nil
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
