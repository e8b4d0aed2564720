// Command demo builds an all-in-one Neutrino node in throwaway network
// namespaces and proves it with real packets, real DHCP clients and a real
// BGP peer:
//
//	upstream (gobgpd AS 64513, a TCP service) ── external network ── router1 (SNAT, FIP)
//	                                                                   ├── tenant1: vm1 (FIP), vm2  ┐ address scope "demo":
//	                                                                   ├── tenant2: vm3             ┘ advertised, no NAT
//	                                                                   └── tenant3: vm4               no scope: SNAT
//
// It prints a table of checks and exits non-zero if any fails. Everything it
// creates lives in namespaces named with a per-run prefix and is removed at
// the end, on failure and on Ctrl-C too, unless --keep. Needs root.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == agentMode {
		if err := runAgent(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "demo agent:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) == 4 && os.Args[1] == bgp6Mode {
		if err := runBGP6(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "demo bgp6:", err)
			os.Exit(1)
		}
		return
	}
	keep := flag.Bool("keep", false, "leave the namespaces in place for inspection (processes still stop)")
	destroy := flag.String("destroy", "", "remove the namespaces a --keep run left under this prefix, and exit")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (it creates network namespaces)")
		os.Exit(2)
	}
	if *destroy != "" {
		if err := destroyPrefix(*destroy); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(*keep))
}

func bgContext(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	_ = cancel // released when the deadline passes
	return ctx
}

func execCommand(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

// step prints progress while the demo works.
type progress struct {
	n, total int
	start    time.Time
}

func (p *progress) begin(what string) {
	p.n++
	p.start = time.Now()
	fmt.Printf("[%d/%d] %s … ", p.n, p.total, what)
}

func (p *progress) done(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if msg != "" {
		msg = " " + msg
	}
	fmt.Printf("ok%s (%s)\n", msg, time.Since(p.start).Round(time.Millisecond))
}

func run(keep bool) int {
	prefix := "nd" + strconv.FormatInt(int64(os.Getpid()), 36) + "-"
	w, err := newWorld(prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	// Ctrl-C or SIGTERM: tear down before leaving.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "\ndemo: %v, cleaning up\n", s)
		_ = w.teardown(false)
		os.Exit(130)
	}()

	results, err := build(w)
	code := 0
	if err != nil {
		fmt.Printf("FAILED\n\ndemo: %v\n", err)
		code = 1
	}
	if len(results) > 0 {
		fmt.Println()
		printTable(results)
		for _, r := range results {
			if !r.ok {
				code = 1
			}
		}
	}
	signal.Stop(sigs)
	if err := w.teardown(keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo: teardown:", err)
		code = 1
	}
	if keep {
		fmt.Printf("\nkept the namespaces (ip netns list | grep %s); remove them with: go run ./examples/demo --destroy %s\n", prefix, prefix)
	} else if left, _ := leftovers(prefix); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "demo: left behind: %v\n", left)
		code = 1
	} else {
		fmt.Println("\nteardown: every namespace of this run removed")
	}
	if code == 0 {
		fmt.Println("demo: all checks passed")
	}
	return code
}

func leftovers(prefix string) ([]string, error) {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return nil, nil
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// build creates the world, runs the agent, and returns the checks.
func build(w *world) ([]result, error) {
	p := &progress{total: 5}

	p.begin("building the lab: namespaces node1, upstream, vm1-vm4 and their links")
	names := []string{"node1", "upstream"}
	for _, vm := range instances {
		names = append(names, vm.name)
	}
	for _, n := range names {
		if _, err := w.namespace(n); err != nil {
			return nil, err
		}
	}
	// Management/underlay link (BGP session, VXLAN source) and the physical
	// link of the external network (physnet1 -> ext0 on the node).
	if err := link(w.ns["node1"], "mgmt0", mgmtNode, w.ns["upstream"], "mgmt0", mgmtUpstream); err != nil {
		return nil, err
	}
	if err := link(w.ns["node1"], extIface, noPrefix, w.ns["upstream"], "eth0", upstreamExt); err != nil {
		return nil, err
	}
	p.done("prefix %s", w.prefix)

	p.begin("starting upstream: gobgpd (AS 64513) and a TCP service on :7000")
	bgpd, err := startGobgpd(w)
	if err != nil {
		return nil, err
	}
	err = w.listen("upstream", fmt.Sprintf("%s:%d", upstreamExt.Addr(), svcPort), func(c net.Conn) {
		fmt.Fprintf(c, "hello from upstream, you are %s\n", hostOf(c.RemoteAddr()))
	})
	if err != nil {
		return nil, err
	}
	if err := prepareIPv6(w, bgpd); err != nil {
		return nil, err
	}
	p.done("")

	p.begin("running the Neutrino node agent in node1 (network, port, qos, router, firewall, vpn, dhcp, metadata, secgroup, loadbalancer, bgp)")
	topoFile := filepath.Join(w.dir, "topology.json")
	b, _ := json.MarshalIndent(withIPv6(buildTopology(w.prefix)), "", "  ")
	if err := os.WriteFile(topoFile, b, 0o644); err != nil {
		return nil, err
	}
	ag, err := startAgent(w, topoFile)
	if err != nil {
		return nil, err
	}
	first, err := ag.next(60 * time.Second)
	if err != nil {
		return nil, err
	}
	if first.Error != "" {
		return nil, fmt.Errorf("first apply: %s\n%s", first.Error, first.Report)
	}
	second, err := ag.next(30 * time.Second)
	if err != nil {
		return nil, err
	}
	p.done("%d mutations in %d ms; second apply: %d mutations in %d ms", first.Mutations, first.Millis, second.Mutations, second.Millis)
	fmt.Print(indent(first.Report, "      "))

	p.begin("instances vm1-vm4 listen on :8080 and :9090 and ask for addresses by DHCP (udhcpc)")
	leases := map[string]lease{}
	for _, vm := range instances {
		for _, port := range []int{webPort, closedPort} {
			port := port
			if err := w.listen(vm.name, fmt.Sprintf("0.0.0.0:%d", port), func(c net.Conn) {
				fmt.Fprintf(c, "%s:%d sees you as %s\n", vm.name, port, hostOf(c.RemoteAddr()))
			}); err != nil {
				return nil, err
			}
		}
		l, err := dhcpLease(w, vm.name)
		if err != nil {
			return nil, err
		}
		leases[vm.name] = l
	}
	p.done("")

	p.begin("checking with real packets and the BGP peer")
	results := checks(w, bgpd, leases, second)
	bgp6, err := startBGP6(w, topoFile)
	if err != nil {
		return nil, err
	}
	bgp6First, err := bgp6.next(30 * time.Second)
	if err != nil {
		return nil, err
	}
	results = append(results, checksIPv6(w, bgpd, bgp6First)...)
	p.done("")

	return results, nil
}

// noPrefix leaves a link end without an address.
var noPrefix netip.Prefix

func hostOf(a net.Addr) string {
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

func indent(s, pad string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return pad + strings.Join(lines, "\n"+pad) + "\n"
}
