package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Running a plan. Commands run on a thread inside the node's namespace
// (the processes inherit it), as an agent on the node runs them: plain
// `ip`, `nft` and `sysctl` for the node, `ip -n` and `ip netns exec` for
// its router and DHCP namespaces.

// full turns "@name" words into the namespace's full name.
func (n *node) full(args string) string {
	if !strings.Contains(args, "@") {
		return args
	}
	f := strings.Fields(args)
	for i, w := range f {
		if strings.HasPrefix(w, "@") {
			f[i] = n.prefix + w[1:]
		}
	}
	return strings.Join(f, " ")
}

// inNS prefixes argv to run it in the namespace called rel, as Neutron's
// agents do: `ip netns exec`, which also gives the process a mount
// namespace with the namespace's /sys (2-4 ms).
func (n *node) inNS(rel string, argv ...string) []string {
	if rel == "node" {
		return argv
	}
	return append([]string{"ip", "netns", "exec", n.prefix + rel}, argv...)
}

// enterNS prefixes argv to run it in the network namespace called rel and
// nothing more (nsenter --net): the cheapest way in, for baseline B.
func (n *node) enterNS(rel string, argv ...string) []string {
	if rel == "node" {
		return argv
	}
	return append([]string{"nsenter", "--net=" + n.mgr.Path(rel), "--"}, argv...)
}

// argv is the one process that performs o (per-operation style).
func (n *node) argv(o op) []string {
	switch o.Tool {
	case "netns-add":
		return []string{"ip", "netns", "add", n.prefix + o.NS}
	case "netns-del":
		return []string{"ip", "netns", "del", n.prefix + o.NS}
	case "sysctl":
		return n.inNS(o.NS, "sysctl", "-q", "-w", o.Args)
	case "ip", "bridge":
		argv := []string{o.Tool}
		if o.NS != "node" {
			argv = append(argv, "-n", n.prefix+o.NS)
		}
		return append(argv, strings.Fields(n.full(o.Args))...)
	case "nft":
		return n.inNS(o.NS, "nft", o.Args)
	}
	panic("bench: unknown tool " + o.Tool)
}

// runner runs commands in the node and counts the processes and the time
// they take, by program.
type runner struct {
	n     *node
	procs int
	spent map[string]time.Duration
}

func (r *runner) run(stdin string, argv ...string) error {
	r.procs++
	start := time.Now()
	defer func() {
		if r.spent == nil {
			r.spent = map[string]time.Duration{}
		}
		key := argv[0]
		switch {
		case len(argv) > 4 && argv[1] == "netns" && argv[2] == "exec":
			key = "ip netns exec " + argv[4]
		case len(argv) > 3 && argv[0] == "nsenter":
			key = "nsenter " + argv[3]
		}
		r.spent[key] += time.Since(start)
	}()
	cmd := exec.Command(argv[0], argv[1:]...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := out.String()
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, msg)
	}
	return nil
}

// runPerOp runs a plan one process per operation.
func (n *node) runPerOp(p plan) (*runner, error) {
	r := &runner{n: n}
	err := n.h.Do(func() error {
		for _, o := range p {
			if err := r.run("", n.argv(o)...); err != nil {
				return err
			}
		}
		return nil
	})
	return r, err
}

// runBatched runs a plan as one `ip -batch` for the namespaces it adds,
// one `sysctl` per namespace, one `ip -batch` (and `bridge -batch`) per
// namespace, the node's first, and one `nft -f` per table; in the router
// and DHCP namespaces through nsenter.
func (n *node) runBatched(p plan, dir string) (*runner, error) {
	type group struct {
		key   string
		lines []string
		whole string
		o     op
	}
	var (
		order  []string
		groups = map[string]*group{}
	)
	put := func(key string, o op, line string) {
		g := groups[key]
		if g == nil {
			g = &group{key: key, o: o}
			groups[key] = g
			order = append(order, key)
		}
		if o.Whole != "" {
			g.whole = o.Whole
		}
		g.lines = append(g.lines, line)
	}
	// Stage numbers keep the groups in a working order: namespaces,
	// sysctls, the node's devices (which reach into the namespaces),
	// the namespaces' devices, forwarding entries, nftables.
	for _, o := range p {
		switch o.Tool {
		case "netns-add":
			put("0 netns", o, "netns add "+n.prefix+o.NS)
		case "sysctl":
			put("1 sysctl "+o.NS, o, o.Args)
		case "ip":
			stage := "3 "
			if o.NS == "node" {
				stage = "2 "
			}
			put(stage+"ip "+o.NS, o, n.full(o.Args))
		case "netns-del":
			put("2 ip node", op{NS: "node", Tool: "ip"}, "netns del "+n.prefix+o.NS)
		case "bridge":
			put("4 bridge "+o.NS, o, n.full(o.Args))
		case "nft":
			put("5 nft "+o.NS+" "+o.Table, o, o.Args)
		}
	}
	slices.SortStableFunc(order, func(a, b string) int { return strings.Compare(a[:1], b[:1]) })
	r := &runner{n: n}
	err := n.h.Do(func() error {
		for i, key := range order {
			g := groups[key]
			var err error
			switch {
			case strings.HasPrefix(key, "0 "):
				err = r.run(strings.Join(g.lines, "\n")+"\n", "ip", "-batch", "-")
			case strings.HasPrefix(key, "1 "):
				err = r.run("", n.enterNS(g.o.NS, append([]string{"sysctl", "-q", "-w"}, g.lines...)...)...)
			case strings.HasPrefix(key, "2 "), strings.HasPrefix(key, "3 "), strings.HasPrefix(key, "4 "):
				argv := []string{g.o.Tool}
				if g.o.NS != "node" {
					argv = append(argv, "-n", n.prefix+g.o.NS)
				}
				err = r.run(strings.Join(g.lines, "\n")+"\n", append(argv, "-batch", "-")...)
			default:
				text := g.whole
				if text == "" {
					text = strings.Join(g.lines, "\n") + "\n"
				}
				file := filepath.Join(dir, "t"+strconv.Itoa(i)+".nft")
				if err = os.WriteFile(file, []byte(text), 0o600); err == nil {
					err = r.run("", n.enterNS(g.o.NS, "nft", "-f", file)...)
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return r, err
}

// String says where the time went, by program.
func (r *runner) String() string {
	var parts []string
	for _, k := range slicesKeys(r.spent) {
		parts = append(parts, fmt.Sprintf("%s %s", k, r.spent[k].Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}
