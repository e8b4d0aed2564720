package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/subnet"
)

// badInput is a topology file the agent must refuse, and what its error
// must name.
type badInput struct {
	name string
	file func(w *world) []byte
	want []string // substrings of stderr: the object and the field
}

func badInputs() []badInput {
	edit := func(w *world, change func(b *builder)) []byte {
		b := &builder{}
		raw, _ := json.Marshal(&w.b.Topology)
		_ = json.Unmarshal(raw, &b.Topology)
		change(b)
		out, _ := json.Marshal(&b.Topology)
		return out
	}
	return []badInput{
		{"truncated JSON", func(w *world) []byte {
			raw, _ := json.Marshal(&w.b.Topology)
			return raw[:len(raw)/2]
		}, []string{"line 1"}},
		{"a field of the wrong type", func(w *world) []byte {
			raw, _ := json.Marshal(&w.b.Topology)
			return []byte(strings.Replace(string(raw), `"mtu":1450`, `"mtu":"big"`, 1))
		}, []string{"networks[1].mtu"}},
		{"a dangling network_id", func(w *world) []byte {
			return edit(w, func(b *builder) { b.Ports[len(b.Ports)-1].NetworkID = id(kNet, 77) })
		}, []string{"ports[", "].network_id", id(kNet, 77)}},
		{"overlapping subnets", func(w *world) []byte {
			return edit(w, func(b *builder) {
				b.Subnets = append(b.Subnets, subnet.Subnet{ID: id(kSubnet, 9), NetworkID: id(kNet, 1), IPVersion: 4,
					CIDR: mustPrefix("100.64.1.128/25"), GatewayIP: ip("100.64.1.129"), EnableDHCP: ptr(false)})
			})
		}, []string{"subnets[3]", "cidr", "100.64.1.128/25"}},
		{"a fixed IP outside its subnet", func(w *world) []byte {
			return edit(w, func(b *builder) {
				for i := range b.Ports {
					if b.Ports[i].ID == id(kPort, vm1Port) {
						b.Ports[i].FixedIPs[0].IPAddress = ip("100.64.9.11")
					}
				}
			})
		}, []string{id(kPort, vm1Port), "fixed_ips[0].ip_address"}},
		{"an HA router, which is not realized", func(w *world) []byte {
			return edit(w, func(b *builder) { b.Routers[0].HA = true })
		}, []string{"routers[0].ha: not realized", id(kRouter, routerIdx)}},
		{"a network listed without its admin-only provider attributes", func(w *world) []byte {
			return edit(w, func(b *builder) { b.Networks[1].NetworkType, b.Networks[1].SegmentationID = "", 0 })
		}, []string{"networks[1].provider:segmentation_id: required for a vxlan network", id(kNet, 1)}},
	}
}

// snapshotAll renders the configuration the node holds, leaving out
// operational state that changes by itself (carrier, operstate):
// devices with their kind, alias, master, admin state and MTU, IPv4
// addresses, routes and nftables rulesets, in the node namespace and in
// every namespace under the node prefix.
func snapshotAll(t *testing.T, w *world) string {
	t.Helper()
	var b strings.Builder
	render := func(h *namespace.Handle) {
		devs, err := devices(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range slices.Sorted(maps.Keys(devs)) {
			d := devs[name]
			fmt.Fprintf(&b, "device %s kind=%s alias=%q master=%q up=%v mtu=%d\n", name, d.kind, d.alias, d.master, d.up, d.mtu)
		}
		b.WriteString(w.l.MustRun(h, "ip", "-o", "-4", "addr", "show"))
		b.WriteString(strings.ReplaceAll(w.l.MustRun(h, "ip", "route", "show"), " linkdown", ""))
		b.WriteString(w.l.MustRun(h, "nft", "list", "ruleset"))
	}
	render(w.n.h)
	names, err := w.n.mgr().List()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range names {
		b.WriteString("namespace " + ns + "\n")
		render(w.ns(t, ns))
	}
	return b.String()
}

// TestBadInputChangesNothing gives plan and apply malformed and invalid
// topology files (non-zero exit, an error naming the object and field,
// nothing changed), then writes them under a running agent, which keeps
// the last good state realized and says so in its metrics.
func TestBadInputChangesNothing(t *testing.T) {
	w := newWorld(t)
	n := w.n
	n.mustExec(t, "apply", w.file, worldFlags...)
	before := snapshotAll(t, w)
	dir := t.TempDir()

	for _, c := range badInputs() {
		file := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".json")
		writeFile(t, file, c.file(w))
		for _, cmd := range []string{"plan", "apply"} {
			r := n.exec(t, cmd, file, worldFlags...)
			if r.code == 0 {
				t.Errorf("%s of %s succeeded:\n%s", cmd, c.name, r)
				continue
			}
			for _, s := range c.want {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("%s of %s: the error does not name %q:\n%s", cmd, c.name, s, r.stderr)
				}
			}
			if cmd == "apply" {
				t.Logf("%s: %s", c.name, strings.TrimSpace(r.stderr))
			}
			if r.stdout != "" {
				t.Errorf("%s of %s printed a plan or report:\n%s", cmd, c.name, r.stdout)
			}
		}
		if after := snapshotAll(t, w); after != before {
			t.Errorf("plan and apply of %s changed the node:\n%s", c.name, lineDiff(before, after))
		}
	}

	t.Run("written while run is running", func(t *testing.T) {
		p := n.start(t, "run", w.file, append(worldFlags, "--resync-interval", "1s", "--file-poll-interval", "100ms")...)
		waitApplied(t, n, p, 1)
		var errs float64
		for _, c := range badInputs() {
			writeFile(t, w.file, c.file(w))
			errs++
			var m map[string]float64
			if _, ok := eventually(10*time.Second, func() bool {
				m, _ = scrape(n.h)
				return m["neutrino_topology_load_errors_total"] >= errs
			}); !ok {
				t.Fatalf("%s: the agent did not count the load error: %v\n%s", c.name, m, p.log.String())
			}
			if m["neutrino_topology_valid"] != 0 {
				t.Errorf("%s: neutrino_topology_valid = %v, want 0", c.name, m["neutrino_topology_valid"])
			}
			// It keeps resyncing to the last good topology.
			ok := m[`neutrino_applies_total{result="ok"}`]
			waitApplied(t, n, p, ok+1)
			if diffs := diffState(n, &w.b.Topology); len(diffs) > 0 {
				t.Errorf("%s: the last good state is no longer realized: %v", c.name, diffs)
			}
			if !strings.Contains(p.log.String(), "keeping the last good state") {
				t.Errorf("%s: the log does not say the bad file was rejected", c.name)
			}
		}
		if after := snapshotAll(t, w); after != before {
			t.Errorf("run changed the node while its file was bad:\n%s", lineDiff(before, after))
		}
		// A good file again: valid, and applied (the tap port leaves).
		var gone string
		for i, pt := range w.b.Ports {
			if pt.ID == id(kPort, tapPort) {
				gone = naming.Tap(pt.ID)
				w.b.Ports = append(w.b.Ports[:i], w.b.Ports[i+1:]...)
				break
			}
		}
		w.b.write(t, w.file)
		if _, ok := eventually(10*time.Second, func() bool {
			m, _ := scrape(n.h)
			return m["neutrino_topology_valid"] == 1 && len(diffState(n, &w.b.Topology)) == 0
		}); !ok {
			t.Errorf("the fixed file was not applied (%s still there?): %v", gone, diffState(n, &w.b.Topology))
		}
	})
}

// lineDiff lists the lines only before has ("-") and only after has ("+").
func lineDiff(before, after string) string {
	count := map[string]int{}
	for _, l := range strings.Split(before, "\n") {
		count[l]++
	}
	for _, l := range strings.Split(after, "\n") {
		count[l]--
	}
	var out []string
	for l, c := range count {
		switch {
		case c > 0:
			out = append(out, "- "+l)
		case c < 0:
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}
