package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/agent"
	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
)

// child serves requests for the node in nodePath, whose realizers create
// their namespaces under prefix.
type child struct {
	host   *namespace.Handle
	prefix string
	node   *agent.Node
	topos  map[string]*neutrino.Topology
	wants  map[string]*agent.Desired
	own    *realizers // the child's own realizers, beside the node's
	prof   *os.File
}

func runChild(nodePath, prefix string, in io.Reader, out io.Writer) error {
	host, err := namespace.OpenPath(nodePath)
	if err != nil {
		return err
	}
	defer host.Close()
	// Workaround: google/nftables waits for replies with select(2) and
	// panics on a socket numbered 1024 or above (google/nftables#352). At
	// node scale the router and DHCP realizers hold ~1,400 descriptors
	// before the secgroup realizer, last in the agent's order, opens the
	// node's nftables connection on its first Apply: opened here first, it
	// gets a low number. (The router realizer guards its own namespaces.)
	if _, err := host.NFT(); err != nil {
		return err
	}
	node, err := agent.New(host, agent.Config{Host: nodeName, Prefix: prefix, PhysicalInterfaceMappings: mappings})
	if err != nil {
		return err
	}
	defer node.Close()
	c := &child{host: host, prefix: prefix, node: node, topos: map[string]*neutrino.Topology{}, wants: map[string]*agent.Desired{}}
	defer func() {
		if c.own != nil {
			c.own.close()
		}
	}()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return err
		}
		if req.Op == "quit" {
			return enc.Encode(response{})
		}
		if err := enc.Encode(c.serve(&req)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (c *child) serve(req *request) response {
	ctx := context.Background()
	var (
		res   response
		err   error
		start time.Time
		rep   interface{ Mutations() int }
	)
	cpu0 := cpuTime()
	switch req.Op {
	case "load":
		var t *neutrino.Topology
		if t, err = neutrino.LoadFile(req.File); err == nil {
			t.Defaults()
			c.topos[req.Name] = t
		}
	case "apply":
		t := c.topos[req.Name]
		if t == nil {
			err = fmt.Errorf("topology %q not loaded", req.Name)
			break
		}
		start = time.Now()
		var r *agent.Report
		r, err = c.node.Apply(ctx, t)
		res.Millis = ms(time.Since(start))
		rep, res.Report = r, r.String()
	case "destroy":
		start = time.Now()
		var r *agent.Report
		r, err = c.node.Destroy(ctx)
		res.Millis = ms(time.Since(start))
		rep, res.Report = r, r.String()
	case "realizer", "steps":
		res, err = c.realizerApply(ctx, req)
	case "rss":
		res.HWM, res.RSS, err = memory()
	case "profile-start":
		if c.prof, err = os.Create(req.File); err == nil {
			err = pprof.StartCPUProfile(c.prof)
		}
	case "profile-stop":
		pprof.StopCPUProfile()
		if c.prof != nil {
			err = c.prof.Close()
		}
	case "gc":
		runtime.GC()
	case "quiesce":
		start = time.Now()
		quiesce()
		res.Millis = ms(time.Since(start))
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if rep != nil {
		res.Mutations = rep.Mutations()
	}
	if err != nil {
		res.Error = err.Error()
	}
	res.CPUMillis = ms(cpuTime() - cpu0)
	res.FDs = openFDs()
	return res
}

// quiesce waits, at most two minutes, until the process's background work
// (gratuitous ARP bursts after addresses appear: three rounds a second
// apart per address) has ended: until it uses under 5% of a CPU over a
// window longer than the rounds' interval.
func quiesce() {
	const window = 1200 * time.Millisecond
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		c0 := cpuTime()
		time.Sleep(window)
		if cpuTime()-c0 < window/20 {
			return
		}
	}
}

// openFDs counts the process's open file descriptors.
func openFDs() int {
	fds, _ := os.ReadDir("/proc/self/fd")
	return len(fds)
}

// realizerApply runs the child's own realizers, one after the other and
// timed one by one, towards a document's desired state: "steps" runs all
// five in the agent's order (reversed, towards nothing, for Name ""),
// "realizer" the ones named in Which. The desired state is computed once
// per document, outside the timing. It is how the bench tells which
// realizer a bring-up spends its time in, and what a change costs where
// it is made, without the no-op work of the other realizers that a
// whole-node Apply adds.
func (c *child) realizerApply(ctx context.Context, req *request) (response, error) {
	var res response
	d := &agent.Desired{}
	if req.Name != "" {
		if d = c.wants[req.Name]; d == nil {
			t := c.topos[req.Name]
			if t == nil {
				return res, fmt.Errorf("topology %q not loaded", req.Name)
			}
			var err error
			if d, err = agent.DesiredFor(t, nodeName); err != nil {
				return res, err
			}
			c.wants[req.Name] = d
		}
	}
	if c.own == nil {
		c.own = &realizers{host: c.host, prefix: c.prefix}
	}
	which := strings.Split(req.Which, ",")
	if req.Op == "steps" {
		which = []string{"network", "port", "router", "dhcp", "secgroup"}
		if req.Name == "" {
			slices.Reverse(which)
		}
	}
	var errs []error
	for _, w := range which {
		cpu0, start := cpuTime(), time.Now()
		rep, err := c.own.apply(ctx, w, d)
		t := timing{Realizer: w, Millis: ms(time.Since(start)), CPUMillis: ms(cpuTime() - cpu0), Kinds: kinds(rep), FDs: openFDs()}
		for _, n := range t.Kinds {
			t.Mutations += n
		}
		res.Steps = append(res.Steps, t)
		res.Millis += t.Millis
		res.Mutations += t.Mutations
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w, err))
		}
	}
	return res, errors.Join(errs...)
}

// kinds reads a realizer Report's Created, Updated and Deleted counts
// (the realizers' Report types share that shape) as "verb kind" -> n.
func kinds(rep any) map[string]int {
	v := reflect.ValueOf(rep)
	if !v.IsValid() || v.IsNil() {
		return nil
	}
	out := map[string]int{}
	for _, verb := range []string{"Created", "Updated", "Deleted"} {
		m, _ := v.Elem().FieldByName(verb).Interface().(map[string]int)
		for k, n := range m {
			if n != 0 {
				out[strings.ToLower(verb)+" "+k] += n
			}
		}
	}
	return out
}

// realizers are the five realizers of a node, configured as agent.New
// configures them, each made when first used.
type realizers struct {
	host   *namespace.Handle
	prefix string
	net    *network.Realizer
	port   *port.Realizer
	router *router.Realizer
	dhcp   *dhcp.Realizer
	sg     *secgroup.Realizer
}

func (r *realizers) apply(ctx context.Context, which string, d *agent.Desired) (any, error) {
	var err error
	switch which {
	case "network":
		if r.net == nil {
			r.net, err = network.NewRealizer(r.host, network.WithPhysicalInterfaceMappings(mappings))
		}
		if err == nil {
			return r.net.Apply(ctx, d.Network)
		}
	case "port":
		if r.port == nil {
			r.port, err = port.NewRealizer(r.host)
		}
		if err == nil {
			return r.port.Apply(ctx, d.Port)
		}
	case "router":
		if r.router == nil {
			r.router, err = router.NewRealizer(r.host, router.WithPrefix(r.prefix))
		}
		if err == nil {
			return r.router.Apply(ctx, d.Router)
		}
	case "dhcp":
		if r.dhcp == nil {
			r.dhcp, err = dhcp.NewRealizer(r.host, dhcp.WithPrefix(r.prefix), dhcp.WithHost(nodeName))
		}
		if err == nil {
			return r.dhcp.Apply(ctx, d.DHCP)
		}
	case "secgroup":
		if r.sg == nil {
			r.sg, err = secgroup.NewRealizer(r.host)
		}
		if err == nil {
			return r.sg.Apply(ctx, d.SecGroup)
		}
	default:
		err = fmt.Errorf("unknown realizer %q", which)
	}
	return nil, err
}

func (r *realizers) close() {
	if r.router != nil {
		r.router.Close()
	}
	if r.dhcp != nil {
		r.dhcp.Close()
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memory reads the process's peak and current resident set (kB).
func memory() (hwm, rss int64, err error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v
		case "VmRSS:":
			rss = v
		}
	}
	if hwm == 0 {
		return 0, 0, errors.New("no VmHWM in /proc/self/status")
	}
	return hwm, rss, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
