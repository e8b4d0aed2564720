package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
)

// killPoint says when to SIGKILL an apply: after a delay, or as soon as its
// log shows a realizer finished (the next one is then at work).
type killPoint struct {
	delay time.Duration
	after string // a realizer name in the log; "" for a plain delay
}

func (k killPoint) String() string {
	if k.after != "" {
		return "after " + k.after
	}
	return k.delay.String()
}

// killPoints cycles through delays from the first mutations to the end of
// a big apply, and log markers between realizers.
var killPoints = []killPoint{
	{delay: 5 * time.Millisecond}, {delay: 15 * time.Millisecond}, {delay: 30 * time.Millisecond},
	{delay: 60 * time.Millisecond}, {after: "network"}, {delay: 120 * time.Millisecond},
	{after: "port"}, {delay: 250 * time.Millisecond}, {delay: 400 * time.Millisecond},
	{after: "secgroup"}, {delay: 600 * time.Millisecond}, {delay: 900 * time.Millisecond},
	{delay: 1300 * time.Millisecond}, {delay: 2 * time.Second},
}

// TestCrashConvergence kills `node-agent apply` with SIGKILL at many points
// of big applies, alternating between two topologies that share most
// objects (so later rounds create, update and delete), restarts it, and
// proves the node ends in exactly the desired state.
func TestCrashConvergence(t *testing.T) {
	l := lab.New(t)
	n := newNode(l, "node1")
	up := l.Namespace("upstream")
	l.Link(n.h, "underlay", []string{"198.18.0.1/24"}, up, "underlay", []string{"198.18.0.2/24"})
	l.Link(n.h, "ext0", nil, up, "ext0", []string{"203.0.113.254/24"})
	dir := t.TempDir()
	// A: 40 VXLAN networks, 240 instance taps, 20 routers with a FIP each,
	// 10 DHCP servers, 3 groups. B: 4 networks (2 routers, a DHCP server)
	// fewer, 4 others more, and other rule ports.
	topos := []*builder{bigTopology(2, 42, 22), bigTopology(6, 46, 2222)}
	files := []string{filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")}
	for i := range topos {
		topos[i].write(t, files[i])
	}
	mapping := []string{"--physical-interface-mappings", "physnet1:ext0"}

	cur, kills, completed := 0, 0, 0
	var journal, remnants []string
	for round := 0; round < 40 && (kills < 12 || round < len(killPoints)); round++ {
		kp := killPoints[round%len(killPoints)]
		p := n.start(t, "apply", files[cur], mapping...)
		killed := killAt(p, kp)
		line := fmt.Sprintf("round %2d topology %c kill %-15s ", round, 'A'+cur, kp)
		if killed {
			kills++
			line += fmt.Sprintf("killed with %s; %s", progress(n), lastLogLine(p.log.String()))
		} else {
			completed++
			if p.err != nil {
				if names := unmarkedRemnants(p.log.String()); len(names) > 0 {
					// An earlier kill hit a device between its creation
					// and its marking: clear it by hand and go on.
					remnants = append(remnants, removeRemnants(t, n, names)...)
					journal = append(journal, line+"failed on unmarked remnants "+strings.Join(names, " "))
					continue
				}
				t.Fatalf("%s: apply failed on its own: %v\n%s", line, p.err, p.log.String())
			}
			// Done: switch topology so the next round has work again.
			cur = 1 - cur
			line += "completed"
		}
		journal = append(journal, line)
	}
	t.Logf("%d kills, %d completed applies:\n%s", kills, completed, strings.Join(journal, "\n"))
	if kills < 10 {
		t.Fatalf("only %d applies were killed mid-way; the kill points need retuning", kills)
	}

	// Finish the topology the last kill interrupted.
	final := &topos[cur].Topology
	r := n.exec(t, "apply", files[cur], mapping...)
	if names := unmarkedRemnants(r.stderr); r.code != 0 && len(names) > 0 {
		remnants = append(remnants, removeRemnants(t, n, names)...)
		r = n.exec(t, "apply", files[cur], mapping...)
	}
	if r.code != 0 {
		t.Fatalf("final apply: %s", r)
	}
	t.Logf("final apply (topology %c): %d mutations\n%s", 'A'+cur, r.mutations(), r.stdout)
	if r := n.mustExec(t, "apply", files[cur], mapping...); kernelMutations(r.stdout) != 0 {
		t.Errorf("a second apply still changes the kernel:\n%s", r.stdout)
	}
	if r := n.mustExec(t, "plan", files[cur], mapping...); len(kernelChanges(r.stdout)) != 0 {
		t.Errorf("plan after convergence lists changes:\n%s", strings.Join(kernelChanges(r.stdout), "\n"))
	}
	requireConverged(t, n, final)
	if len(remnants) > 0 {
		bugIn(t, "network, port, router, dhcp", "a SIGKILL between creating a device and setting its ownership alias leaves "+
			"a device the next apply takes for a foreign one, and the node never converges by itself; removed by hand: %v", remnants)
	}
}

// unmarked matches the conflicts of the realizers with a device named as
// theirs but without an alias: host devices, and devices inside one of
// the node's namespaces.
var unmarked = regexp.MustCompile(`(?:a device named|host device|device) (\S+) (?:of (?:DHCP )?port \S+ )?exists (?:in (\S+) )?and is not \S+ \(alias ""\)`)

// unmarkedRemnants lists the devices an apply refused as unmarked, as
// "device" or "namespace/device".
func unmarkedRemnants(log string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range unmarked.FindAllStringSubmatch(log, -1) {
		name := m[1]
		if m[2] != "" {
			name = m[2] + "/" + m[1]
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// removeRemnants deletes unmarked devices as an operator would.
func removeRemnants(t *testing.T, n *node, names []string) []string {
	t.Helper()
	for _, name := range names {
		argv := []string{"ip", "link", "del", name}
		if ns, dev, ok := strings.Cut(name, "/"); ok {
			argv = []string{"ip", "-n", ns, "link", "del", dev}
		}
		// Both ends of an unmarked veth may be named: deleting one takes
		// the other with it.
		if out, err := n.l.Run(n.h, 10*time.Second, argv...); err != nil && !strings.Contains(out, "Cannot find device") {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
	}
	return names
}

// killAt SIGKILLs p at kp, unless it ends first, and reports whether it
// was killed.
func killAt(p *agentProc, kp killPoint) bool {
	deadline := time.After(kp.delay)
	if kp.after != "" {
		deadline = nil
	}
	marker := `"realizer":"` + kp.after + `"`
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case <-p.done:
			return false
		case <-deadline:
		case <-tick.C:
			if kp.after == "" || !strings.Contains(p.log.String(), marker) {
				continue
			}
		case <-timeout:
		}
		_ = p.stop(syscall.SIGKILL)
		ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled()
	}
}

// progress sums up the node's state: owned devices and namespaces.
func progress(n *node) string {
	devs, err := devices(n.h)
	if err != nil {
		return err.Error()
	}
	names, _ := n.mgr().List()
	return fmt.Sprintf("%3d devices, %2d namespaces", len(owned(devs)), len(names))
}

func lastLogLine(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) == 0 || lines[len(lines)-1] == "" {
		return "(nothing logged)"
	}
	s := lines[len(lines)-1]
	if m := regexp.MustCompile(`"msg":"([^"]*)"`).FindStringSubmatch(s); m != nil {
		return "after " + strconv.Quote(m[1])
	}
	return s
}

// inProcess are the kinds a report counts that live in the agent process,
// not the kernel: a one-shot apply starts the DHCP servers anew each time.
var inProcess = map[string]bool{"server": true, "reservation": true, "subnet": true}

var (
	countRe    = regexp.MustCompile(`(\S+)=(\d+)`)
	reportLine = regexp.MustCompile(`^\S+\s+\d+ mutations`)
)

// kernelMutations sums an apply report's counts but for in-process DHCP
// state.
func kernelMutations(report string) int {
	n := 0
	for _, line := range strings.Split(report, "\n") {
		dhcp := strings.HasPrefix(line, "dhcp ")
		for _, m := range countRe.FindAllStringSubmatch(line, -1) {
			if dhcp && inProcess[m[1]] {
				continue
			}
			k, _ := strconv.Atoi(m[2])
			n += k
		}
	}
	return n
}

// kernelChanges keeps a plan's change lines but for in-process DHCP state.
func kernelChanges(plan string) []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(plan), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if reportLine.MatchString(line) || f[0] == "dhcp" && len(f) > 2 && f[1] == "create" && inProcess[f[2]] {
			continue
		}
		out = append(out, line)
	}
	return out
}
