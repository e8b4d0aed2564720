package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/bgp"
)

// withSpeaker adds a BGP speaker on node1 (AS 64512) for the external
// network, peering with 198.18.0.2 (AS 64513) across the underlay.
func withSpeaker(b *builder) {
	sp, peer := id(0x20, 1), id(0x21, 1)
	b.BGPSpeakers = []bgp.Speaker{{ID: sp, Name: "speaker", LocalAS: 64512, IPVersion: 4,
		Networks: []string{id(kNet, extNet)}, Peers: []string{peer}}}
	b.BGPPeers = []bgp.Peer{{ID: peer, Name: "upstream", PeerIP: ip("198.18.0.2"), RemoteAS: 64513, AuthType: "none"}}
	for i := range b.Hosts {
		if b.Hosts[i].Name == "node1" {
			b.Hosts[i].BGPSpeakers = []string{sp}
		}
	}
}

// TestRunMetricsHealthAndShutdown runs the agent with a BGP speaker facing
// a real gobgpd, and reads what it reports: /healthz, applies, mutations,
// topology validity, the BGP session and routes, DHCP leases; then SIGTERM
// stops it cleanly and leaves the dataplane in place.
func TestRunMetricsHealthAndShutdown(t *testing.T) {
	w := newWorld(t)
	withSpeaker(w.b)
	w.b.write(t, w.file)
	if err := startGobgpd(t, w); err != nil {
		t.Skipf("interop test: %v", err)
	}
	n := w.n
	p := n.start(t, "run", w.file, append(worldFlags, "--resync-interval", "1s")...)
	m := waitApplied(t, n, p, 1)

	code, body, err := httpGet(n.h, metricsAddr, "/healthz")
	if err != nil || code != http.StatusOK || !strings.HasPrefix(body, "ok") {
		t.Errorf("/healthz: %d %q %v", code, body, err)
	}
	for series, min := range map[string]float64{
		`neutrino_mutations_total{kind="bridge",op="create",realizer="network"}`:   3,
		`neutrino_mutations_total{kind="namespace",op="create",realizer="router"}`: 1,
		`neutrino_resyncs_total{trigger="file"}`:                                   1,
		`neutrino_topology_valid`:                                                  1,
		`neutrino_last_success_timestamp_seconds`:                                  float64(time.Now().Add(-time.Hour).Unix()),
		// The apply histogram and the Go and process collectors.
		`neutrino_apply_duration_seconds_count`:             1,
		`neutrino_apply_duration_seconds_bucket{le="+Inf"}`: 1,
		`go_goroutines`:                 1,
		`process_resident_memory_bytes`: 1,
	} {
		if m[series] < min {
			t.Errorf("%s = %v, want at least %v", series, m[series], min)
		}
	}
	peerUp := fmt.Sprintf(`neutrino_bgp_peer_up{id=%q,peer="198.18.0.2"}`, id(0x21, 1))
	if _, ok := eventually(30*time.Second, func() bool {
		m, _ = scrape(n.h)
		return m[peerUp] == 1 && m["neutrino_bgp_advertised_routes"] >= 1
	}); !ok {
		t.Errorf("BGP: %s = %v, advertised routes %v\n%s", peerUp, m[peerUp], m["neutrino_bgp_advertised_routes"], p.log.String())
	}

	if err := w.lease(t); err != nil {
		t.Fatal("vm2 gets no DHCP lease")
	}
	// Published after each apply (every second here).
	leases := fmt.Sprintf(`neutrino_dhcp_leases_total{network=%q}`, id(kNet, 2))
	if _, ok := eventually(10*time.Second, func() bool {
		m, _ = scrape(n.h)
		return m[leases] >= 1
	}); !ok {
		t.Errorf("%s = %v after vm2's lease", leases, m[leases])
	}

	if err := p.stop(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v\n%s", err, p.log.String())
	}
	if !strings.Contains(p.log.String(), "the dataplane stays in place") {
		t.Errorf("no shutdown message in the log:\n%s", p.log.String())
	}
	requireConverged(t, n, &w.b.Topology)
}

// startGobgpd runs gobgpd in the upstream namespace, passive, peering with
// node1 on the underlay.
func startGobgpd(t *testing.T, w *world) error {
	t.Helper()
	if _, err := exec.LookPath("gobgpd"); err != nil {
		return err
	}
	conf := filepath.Join(t.TempDir(), "gobgpd.toml")
	cfg := `[global.config]
  as = 64513
  router-id = "198.18.0.2"
  port = 179

[[neighbors]]
  [neighbors.config]
    neighbor-address = "198.18.0.1"
    peer-as = 64512
  [neighbors.transport.config]
    passive-mode = true
`
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return err
	}
	sock := filepath.Join(t.TempDir(), "gobgpd.sock")
	w.l.Start(w.up, "gobgpd", "-f", conf, "--api-hosts", "unix://"+sock, "--pprof-disable", "-p", "-l", "warn")
	return nil
}
