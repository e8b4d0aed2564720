package dhcp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
)

// benchEnv gates the perfdhcp comparison: it takes minutes.
const benchEnv = "NEUTRINO_DHCP_BENCH"

// perfResult is one perfdhcp run.
type perfResult struct {
	target   int
	rate     float64 // completed 4-way exchanges per second
	sent     int     // DISCOVERs
	acked    int     // ACKs received
	loss     float64 // 1 - acked/sent
	rawLines string
}

var (
	reRate  = regexp.MustCompile(`Rate: ([0-9.]+) 4-way exchanges/second`)
	reStats = regexp.MustCompile(`(?s)Statistics for: (DISCOVER-OFFER|REQUEST-ACK).*?sent packets: (\d+).*?received packets: (\d+)`)
)

func runPerfdhcp(t *testing.T, l *lab.Lab, relay *namespace.Handle, dir, server string, rate, secs int) perfResult {
	t.Helper()
	macs := []string{"-M", filepath.Join(dir, "macs")}
	if os.Getenv("NEUTRINO_DHCP_BENCH_BASE") != "" {
		macs = []string{"-b", "mac=fa:16:3e:10:00:00"}
	}
	args := append([]string{"perfdhcp", "-4", "-l", "100.80.255.250"}, macs...)
	args = append(args, "-R", strconv.Itoa(benchClients),
		"-r", strconv.Itoa(rate), "-p", strconv.Itoa(secs), "-W", "1000000")
	args = append(append(args, strings.Fields(os.Getenv("NEUTRINO_DHCP_BENCH_PERFARGS"))...), server)
	out, _ := l.Run(relay, time.Duration(secs+30)*time.Second, args...) // exit status 3 means some exchanges were lost
	res := perfResult{target: rate, rawLines: out}
	if m := reRate.FindStringSubmatch(out); m != nil {
		res.rate, _ = strconv.ParseFloat(m[1], 64)
	}
	for _, m := range reStats.FindAllStringSubmatch(out, -1) {
		sent, _ := strconv.Atoi(m[2])
		recv, _ := strconv.Atoi(m[3])
		if m[1] == "DISCOVER-OFFER" {
			res.sent = sent
		} else {
			res.acked = recv
		}
	}
	if res.sent > 0 {
		res.loss = 1 - float64(res.acked)/float64(res.sent)
	} else {
		res.loss = 1
	}
	return res
}

// maxRate steps perfdhcp's offered rate up (doubling, then bisecting) and
// returns the best run with at most 1% of the exchanges lost.
func maxRate(t *testing.T, name string, run func(rate int) perfResult) perfResult {
	t.Helper()
	var best perfResult
	good, bad := 0, 0
	for rate := 250; rate <= 64000; rate *= 2 {
		r := run(rate)
		t.Logf("%-22s offered %6d/s: %8.1f exchanges/s, loss %5.2f%% (%d/%d)", name, rate, r.rate, 100*r.loss, r.acked, r.sent)
		if r.loss > 0.01 {
			bad = rate
			break
		}
		good, best = rate, r
	}
	for range 3 {
		if bad == 0 || bad-good <= good/8 {
			break
		}
		rate := (good + bad) / 2
		r := run(rate)
		t.Logf("%-22s offered %6d/s: %8.1f exchanges/s, loss %5.2f%% (%d/%d)", name, rate, r.rate, 100*r.loss, r.acked, r.sent)
		if r.loss > 0.01 {
			bad = rate
		} else {
			good = rate
			if r.rate > best.rate {
				best = r
			}
		}
	}
	if best.sent == 0 {
		t.Logf("%s: no rate with ≤1%% loss", name)
	}
	return best
}

// dnsmasqFiles writes the hosts, opts and leases files Neutron's agent would
// write for the bench network (leases bootstrapped as "0 <mac> <ip> * *").
func dnsmasqFiles(t *testing.T, dir string, in Input) {
	t.Helper()
	var hosts, leases strings.Builder
	for _, p := range in.Ports[1:] {
		ip := p.FixedIPs[0].IPAddress
		name := hostname(&p, ip)
		fmt.Fprintf(&hosts, "%s,%s.openstacklocal,%s\n", p.MACAddress, name, ip)
		fmt.Fprintf(&leases, "0 %s %s * *\n", p.MACAddress, ip)
	}
	opts := fmt.Sprintf("tag:subnet-%s,option:dns-server,198.51.100.53\ntag:subnet-%s,option:router,100.80.0.1\n", benchSubnet, benchSubnet)
	for name, body := range map[string]string{"host": hosts.String(), "leases": leases.String(), "opts": opts, "addn_hosts": ""} {
		must(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
}

// TestPerfdhcpVersusDnsmasq measures, in one run, the 4-way exchange rate
// Kea's perfdhcp (acting as a relay) gets from our server and from dnsmasq
// configured the Neutron way, each with 5000 reservations.
//
//	NEUTRINO_DHCP_BENCH=1 go test -run TestPerfdhcpVersusDnsmasq -v ./dhcp
func TestPerfdhcpVersusDnsmasq(t *testing.T) {
	if os.Getenv(benchEnv) == "" {
		t.Skipf("benchmark: set %s=1 to run (takes minutes)", benchEnv)
	}
	lab.RequireCmd(t, "perfdhcp", "dnsmasq")
	secs := 5
	if v, err := strconv.Atoi(os.Getenv("NEUTRINO_DHCP_BENCH_SECS")); err == nil && v > 0 {
		secs = v
	}
	w := newWorld(t)
	in, macs := benchInput()
	w.bridge(benchNet, 1450)
	dir := t.TempDir()
	var macList strings.Builder
	for _, m := range macs {
		macList.WriteString(m.String() + "\n")
	}
	must(t, os.WriteFile(filepath.Join(dir, "macs"), []byte(macList.String()), 0o644))

	relay := w.instance("relay", port.Port{NetworkID: benchNet, MACAddress: port.MustParseMAC("02:00:00:00:00:fe")}, 1450)
	w.l.Up(relay, "eth0", "100.80.255.250/16")

	// Ours: the realizer's server, quiet (debug logging off).
	r, err := NewRealizer(w.host, WithPrefix(w.l.NodePrefix("n1")))
	must(t, err)
	t.Cleanup(func() { _ = r.Close() })
	start := time.Now()
	rep, err := r.Apply(context.Background(), Desired{Networks: []network.Network{in.Network}, Subnets: in.Subnets, Ports: in.Ports})
	must(t, err)
	t.Logf("Apply with %d reservations: %v (%s)", benchClients, time.Since(start).Round(time.Microsecond), rep)

	// dnsmasq, the Neutron way, on its own port of the same network.
	dmq := w.instance("dnsmasq", port.Port{NetworkID: benchNet, MACAddress: port.MustParseMAC("02:00:00:00:00:d2")}, 1450)
	w.l.Up(dmq, "eth0", "100.80.0.3/16")
	dnsmasq := func(leasefileRO bool, extra ...string) func() {
		d := t.TempDir()
		dnsmasqFiles(t, d, in)
		args := []string{"dnsmasq", "--no-hosts", "--no-resolv", "--keep-in-foreground", "--log-facility=-",
			"--pid-file=" + d + "/pid", "--dhcp-hostsfile=" + d + "/host", "--addn-hosts=" + d + "/addn_hosts",
			"--dhcp-optsfile=" + d + "/opts", "--dhcp-match=set:ipxe,175", "--dhcp-userclass=set:ipxe6,iPXE",
			"--local-service", "--bind-dynamic", "--interface=eth0", "--except-interface=lo",
			"--dhcp-range=set:subnet-" + benchSubnet + ",100.80.0.0,static,255.255.0.0,86400s",
			"--dhcp-option-force=option:mtu,1450", "--dhcp-lease-max=65536", "--conf-file=/dev/null",
			"--domain=openstacklocal", "--user=root"}
		args = append(args, extra...)
		if leasefileRO {
			args = append(args, "--leasefile-ro")
		} else {
			args = append(args, "--dhcp-leasefile="+d+"/leases")
		}
		cmd, out := w.l.Start(dmq, args...)
		time.Sleep(500 * time.Millisecond) // let it bind; a measurement, not an assertion
		if cmd.ProcessState != nil {
			t.Fatalf("dnsmasq exited: %s", out)
		}
		return func() {
			lab.Stop(cmd)
			if os.Getenv("NEUTRINO_DHCP_BENCH_DEBUG") != "" {
				t.Logf("dnsmasq:\n%s", out)
			}
		}
	}

	runOn := func(server string) func(int) perfResult {
		return func(rate int) perfResult { return runPerfdhcp(t, w.l, relay, dir, server, rate, secs) }
	}
	probe := runPerfdhcp(t, w.l, relay, dir, "100.80.0.2", 100, 2)
	if probe.acked == 0 {
		t.Fatalf("perfdhcp got nothing from our server:\n%s", probe.rawLines)
	}
	if hold, _ := strconv.Atoi(os.Getenv("NEUTRINO_DHCP_BENCH_HOLD")); hold > 0 {
		t.Logf("holding %d s: relay %s, dir %s", hold, relay.Name(), dir)
		time.Sleep(time.Duration(hold) * time.Second)
		return
	}
	if os.Getenv("NEUTRINO_DHCP_BENCH_DEBUG") != "" {
		r := runPerfdhcp(t, w.l, relay, dir, "100.80.0.2", 1000, secs)
		t.Logf("%s", r.rawLines)
		qd, err := w.l.Manager().Open("n1-qdhcp-" + benchNet)
		must(t, err)
		defer qd.Close()
		for _, h := range []*namespace.Handle{qd, relay} {
			out, _ := w.l.Run(h, 10*time.Second, "sh", "-c", "nstat -az | grep -E 'Udp|Ip(In|Out)' | grep -v ' 0 '; ip -s link")
			t.Logf("%s:\n%s", h.Name(), out)
		}
		stop := dnsmasq(false, strings.Fields(os.Getenv("NEUTRINO_DHCP_BENCH_DEBUG_ARGS"))...)
		r = runPerfdhcp(t, w.l, relay, dir, "100.80.0.3", 100, secs)
		t.Logf("%s", r.rawLines)
		stop()
		return
	}
	ours := maxRate(t, "neutrino", runOn("100.80.0.2"))

	stop := dnsmasq(false)
	neutronWay := maxRate(t, "dnsmasq (Neutron)", runOn("100.80.0.3"))
	stop()
	stop = dnsmasq(true)
	readOnly := maxRate(t, "dnsmasq --leasefile-ro", runOn("100.80.0.3"))
	stop()

	t.Logf("max 4-way exchanges/s at ≤1%% loss, %d reservations, %d s runs:", benchClients, secs)
	t.Logf("  neutrino               %8.1f", ours.rate)
	t.Logf("  dnsmasq (Neutron way)  %8.1f  ratio %.1fx", neutronWay.rate, ratio(ours.rate, neutronWay.rate))
	t.Logf("  dnsmasq --leasefile-ro %8.1f  ratio %.1fx", readOnly.rate, ratio(ours.rate, readOnly.rate))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
