package loadbalancer

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

// The comparison with haproxy runs only when asked (it takes about a
// minute and loads both cores): NEUTRINO_LB_BENCH=1 go test -run
// TestBenchVersusHAProxy -v ./loadbalancer. It measures, never asserts.
func requireBench(t *testing.T) {
	t.Helper()
	if os.Getenv("NEUTRINO_LB_BENCH") == "" {
		t.Skip("benchmark: set NEUTRINO_LB_BENCH=1 to run the side-by-side comparison with haproxy")
	}
	lab.RequireCmd(t, "haproxy", "wrk", "nginx")
}

// nginxMember runs nginx-light in a member namespace, answering every
// request on :8080 with a short body.
func (w *world) nginxMember(name, addr string) {
	w.t.Helper()
	h := w.plug(name, addr+"/24")
	dir := w.t.TempDir()
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  keepalive_requests 1000000;
  server { listen 8080 reuseport; location / { return 200 "%[2]s\n"; } }
}
`, dir, name)
	cfg := filepath.Join(dir, "nginx.conf")
	require.NoError(w.t, os.WriteFile(cfg, []byte(conf), 0o644))
	w.l.Start(h, "nginx", "-p", dir, "-c", cfg)
	w.waitFor("nginx "+name, func() bool {
		out, err := w.l.Run(w.client, 5*time.Second, "curl", "-s", "http://"+addr+":8080/")
		return err == nil && strings.TrimSpace(out) == name
	})
}

// haproxyConfig renders a configuration the way Neutron's haproxy namespace
// driver did (neutron_lbaas/drivers/haproxy/templates): global maxconn as
// the sum of the listeners' 2000, retries 3, redispatch, 5 s connect and
// 50 s client/server timeouts, tcplog/httplog, forwardfor on HTTP, balance
// roundrobin, servers with their weights.
func haproxyConfig(vip string, tcpPort, httpPort int, members []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n    maxconn 4000\n    user nobody\n    group nogroup\n")
	fmt.Fprintf(&b, "defaults\n    retries 3\n    option redispatch\n    timeout connect 5000\n    timeout client 50000\n    timeout server 50000\n")
	servers := func() {
		for i, m := range members {
			fmt.Fprintf(&b, "    server m%d %s:8080 weight 1\n", i+1, m)
		}
	}
	fmt.Fprintf(&b, "frontend tcp\n    option tcplog\n    bind %s:%d\n    mode tcp\n    default_backend pool_tcp\n", vip, tcpPort)
	fmt.Fprintf(&b, "backend pool_tcp\n    mode tcp\n    balance roundrobin\n")
	servers()
	fmt.Fprintf(&b, "frontend http\n    option httplog\n    option forwardfor\n    bind %s:%d\n    mode http\n    default_backend pool_http\n", vip, httpPort)
	fmt.Fprintf(&b, "backend pool_http\n    mode http\n    balance roundrobin\n")
	servers()
	return b.String()
}

type wrkResult struct {
	rps float64
	p99 time.Duration
}

var (
	wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99 = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
)

func (w *world) wrk(url string, d time.Duration, extra ...string) wrkResult {
	w.t.Helper()
	argv := append([]string{"wrk", "-t2", "-c64", "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}, extra...)
	out, err := w.l.Run(w.client, d+30*time.Second, append(argv, url)...)
	require.NoError(w.t, err, out)
	m, p := wrkRPS.FindStringSubmatch(out), wrkP99.FindStringSubmatch(out)
	require.NotNil(w.t, m, out)
	require.NotNil(w.t, p, out)
	rps, _ := strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[2]]
	return wrkResult{rps: rps, p99: time.Duration(v * float64(unit))}
}

// TestBenchVersusHAProxy: the same members (nginx-light), the same
// namespace (the load balancer's), the same client (wrk, 2 threads, 64
// connections): our kernel L4 listener and our proxy's HTTP listener
// against haproxy's TCP and HTTP frontends.
func TestBenchVersusHAProxy(t *testing.T) {
	requireBench(t)
	w := newWorld(t)
	w.nginxMember("m1", "100.64.1.21")
	w.nginxMember("m2", "100.64.1.22")
	w.d.Listeners = []Listener{
		{ID: "tcp80", LoadBalancerID: "lb1", Protocol: ProtocolTCP, ProtocolPort: 80, DefaultPoolID: "tcp"},
		{ID: "http81", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, ProtocolPort: 81, DefaultPoolID: "http"},
	}
	w.d.Pools = []Pool{
		{ID: "tcp", LoadBalancerID: "lb1", Protocol: ProtocolTCP, LBAlgorithm: RoundRobin},
		{ID: "http", LoadBalancerID: "lb1", Protocol: ProtocolHTTP, LBAlgorithm: RoundRobin},
	}
	for i, a := range []string{"100.64.1.21", "100.64.1.22"} {
		for _, pool := range []string{"tcp", "http"} {
			w.d.Members = append(w.d.Members, Member{ID: fmt.Sprintf("%s-m%d", pool, i+1), PoolID: pool,
				Address: netip.MustParseAddr(a), ProtocolPort: 8080})
		}
	}
	w.apply()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "haproxy.cfg")
	require.NoError(t, os.WriteFile(cfg, []byte(haproxyConfig(vip, 9080, 9081, []string{"100.64.1.21", "100.64.1.22"})), 0o644))
	ha, _ := w.l.Start(w.lbNS(), "haproxy", "-db", "-f", cfg)
	w.waitFor("haproxy", func() bool {
		_, err := w.l.Run(w.client, 5*time.Second, "curl", "-sf", "http://"+vip+":9081/")
		return err == nil
	})
	// Rounds alternate the two balancers, so that load from other work on
	// the shared machine hits both; the ratio reported is the median of the
	// rounds' ratios.
	const d, rounds = 4 * time.Second, 3
	url := func(port int) string { return fmt.Sprintf("http://%s:%d/", vip, port) }
	closeHdr := []string{"-H", "Connection: close"}
	for _, sc := range []struct {
		name     string
		our, ha  int
		wrkExtra []string
	}{
		// A new connection per request: what an L4 balancer spends is per
		// connection (haproxy accepts and connects; the kernel adds a
		// conntrack entry).
		{"TCP listener, connection per request", 80, 9080, closeHdr},
		{"TCP listener, kept-alive connections", 80, 9080, nil},
		{"HTTP listener, kept-alive connections", 81, 9081, nil},
	} {
		var ratios, p99s, cpus []float64
		for r := range rounds {
			// CPU time per request is the figure the machine's load
			// disturbs least. This process's includes only the proxy (the
			// kernel's forwarding for L4 listeners runs in softirq context,
			// charged to no balancer process).
			c0 := cpuTime(os.Getpid())
			our := w.wrk(url(sc.our), d, sc.wrkExtra...)
			c1 := cpuTime(os.Getpid())
			h0 := cpuTime(ha.Process.Pid)
			theirs := w.wrk(url(sc.ha), d, sc.wrkExtra...)
			h1 := cpuTime(ha.Process.Pid)
			ourCPU := float64(c1-c0) / (our.rps * d.Seconds())
			haCPU := float64(h1-h0) / (theirs.rps * d.Seconds())
			ratios = append(ratios, our.rps/theirs.rps)
			p99s = append(p99s, float64(our.p99)/float64(theirs.p99))
			cpus = append(cpus, ourCPU/haCPU)
			t.Logf("%s, round %d: neutrino %6.0f req/s p99 %v cpu %v/req | haproxy %6.0f req/s p99 %v cpu %v/req", sc.name, r+1,
				our.rps, our.p99.Round(10*time.Microsecond), time.Duration(ourCPU).Round(10*time.Nanosecond),
				theirs.rps, theirs.p99.Round(10*time.Microsecond), time.Duration(haCPU).Round(10*time.Nanosecond))
		}
		t.Logf("%s: median ratios (neutrino/haproxy): %.2fx req/s, p99 %.2fx, balancer process CPU per request %.2fx",
			sc.name, median(ratios), median(p99s), median(cpus))
	}
}

// cpuTime is the user+system CPU time a process has used, all threads.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) start after ")".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func procStatusKB(pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.Fields(rest)[0])
			return n
		}
	}
	return 0
}

func fdCount(pid int) int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(es)
}

// TestBenchMemoryAt100LoadBalancers: 100 load balancers, each with a TCP
// listener in the kernel and an HTTP listener on the proxy, realized by
// this process; then one haproxy per load balancer (Neutron's driver) in
// the same namespaces. Compared: this process's RSS and descriptor growth
// against the sum over the haproxy processes.
func TestBenchMemoryAt100LoadBalancers(t *testing.T) {
	requireBench(t)
	const n = 100
	w := newWorld(t)
	w.d.Ports, w.d.LoadBalancers = nil, nil
	for i := range n {
		id := fmt.Sprintf("lb%03d", i)
		vipPort := fmt.Sprintf("vip%03d-port", i)
		mac, _ := port.ParseMAC(fmt.Sprintf("fa:16:3e:00:01:%02x", i))
		addr := netip.AddrFrom4([4]byte{100, 64, 1, byte(100 + i)})
		w.d.Ports = append(w.d.Ports, port.Port{ID: vipPort, NetworkID: "net1", MACAddress: mac, DeviceOwner: port.OwnerLoadBalancer,
			FixedIPs: []port.FixedIP{{SubnetID: "sub1", IPAddress: addr}}})
		w.d.LoadBalancers = append(w.d.LoadBalancers, LoadBalancer{ID: id, VIPPortID: vipPort})
		w.d.Listeners = append(w.d.Listeners,
			Listener{ID: id + "-tcp", LoadBalancerID: id, Protocol: ProtocolTCP, ProtocolPort: 80, DefaultPoolID: id + "-tcp"},
			Listener{ID: id + "-http", LoadBalancerID: id, Protocol: ProtocolHTTP, ProtocolPort: 81, DefaultPoolID: id + "-http"})
		for _, kind := range []string{"tcp", "http"} {
			proto := ProtocolTCP
			if kind == "http" {
				proto = ProtocolHTTP
			}
			w.d.Pools = append(w.d.Pools, Pool{ID: id + "-" + kind, LoadBalancerID: id, Protocol: proto, LBAlgorithm: RoundRobin})
			for m, a := range []string{"100.64.1.21", "100.64.1.22"} {
				w.d.Members = append(w.d.Members, Member{ID: fmt.Sprintf("%s-%s-m%d", id, kind, m), PoolID: id + "-" + kind,
					Address: netip.MustParseAddr(a), ProtocolPort: 8080})
			}
		}
	}
	runtime.GC()
	debug.FreeOSMemory()
	self := os.Getpid()
	rss0, fd0 := procStatusKB(self, "VmRSS"), fdCount(self)
	start := time.Now()
	w.apply()
	took := time.Since(start)
	runtime.GC()
	debug.FreeOSMemory()
	rss1, fd1 := procStatusKB(self, "VmRSS"), fdCount(self)
	ourKB, ourFD := rss1-rss0, fd1-fd0

	mgr := namespace.NewManager(w.l.NodePrefix("n1"))
	var haKB, haFD int
	var pids []int
	for i := range n {
		h, err := mgr.Open(Namespace(fmt.Sprintf("lb%03d", i)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = h.Close() })
		dir := t.TempDir()
		cfg := filepath.Join(dir, "haproxy.cfg")
		addr := netip.AddrFrom4([4]byte{100, 64, 1, byte(100 + i)}).String()
		require.NoError(t, os.WriteFile(cfg, []byte(haproxyConfig(addr, 9080, 9081, []string{"100.64.1.21", "100.64.1.22"})), 0o644))
		cmd, _ := w.l.Start(h, "haproxy", "-db", "-f", cfg)
		pids = append(pids, cmd.Process.Pid)
	}
	w.waitFor("100 haproxy processes listening", func() bool {
		for _, p := range pids {
			if fdCount(p) < 4 {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // let each finish its start-up allocations
	for _, p := range pids {
		haKB += procStatusKB(p, "VmRSS")
		haFD += fdCount(p)
	}
	t.Logf("100 load balancers: neutrino realized them in %v; process growth %d KiB RSS, %d descriptors", took.Round(time.Millisecond), ourKB, ourFD)
	t.Logf("100 haproxy processes (Neutron's driver): %d KiB RSS, %d descriptors in total", haKB, haFD)
	t.Logf("ratio: memory %.3f (goal ≤ 0.1), descriptors %.3f", float64(ourKB)/float64(haKB), float64(ourFD)/float64(haFD))
}
