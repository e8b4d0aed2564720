package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	"github.com/vishvananda/netlink"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// result is one row of the demo's table.
type result struct {
	check  string
	ok     bool
	detail string
}

func printTable(rs []result) {
	width := 0
	for _, r := range rs {
		width = max(width, len(r.check))
	}
	for _, r := range rs {
		mark := "PASS"
		if !r.ok {
			mark = "FAIL"
		}
		fmt.Printf("  %-4s  %-*s  %s\n", mark, width, r.check, r.detail)
	}
}

func checks(w *world, bgpd *gobgpd, leases map[string]lease, second applyResult) []result {
	var rs []result
	add := func(check string, ok bool, format string, args ...any) {
		rs = append(rs, result{check, ok, fmt.Sprintf(format, args...)})
	}

	// DHCP: each instance got exactly its port's address and Neutron's options.
	for _, vm := range instances {
		l := leases[vm.name]
		want := fmt.Sprintf("%s/24 router %s dns %s domain %s mtu 1450", vm.ip, vm.gateway, dnsServer, strings.TrimSuffix(dnsDomain, "."))
		got := fmt.Sprintf("%s/%s router %s dns %s domain %s mtu %s", l["ip"], l["mask"], l["router"], l["dns"], strings.TrimSuffix(l["domain"], "."), l["mtu"])
		// Classless routes (the metadata route) end with the default route.
		ok := got == want && l["lease"] == "86400" && strings.Contains(l["staticroutes"], "169.254.169.254/32 "+vm.gateway.String()) &&
			strings.Contains(l["staticroutes"], "0.0.0.0/0 "+vm.gateway.String())
		add("DHCP lease of "+vm.name, ok, "%s lease %ss routes [%s]", got, l["lease"], l["staticroutes"])
	}

	// Metadata: each instance asks 169.254.169.254 (router1 redirects it to
	// the agent's proxy, which signs for Nova's stand-in) and gets its own
	// instance, its port's device_id.
	for _, vm := range instances {
		out, err := w.run(vm.name, 15*time.Second, "curl", "-sS", "-m", "5", "http://169.254.169.254/openstack/latest/meta_data.json")
		got := strings.TrimSpace(out)
		add("metadata of "+vm.name, err == nil && strings.HasPrefix(got, "instance="+vm.name+" "), "%s%s", got, errText(err))
	}

	// L2 and L3 between instances.
	ping := func(from string, to netip.Addr) (bool, string) {
		out, err := w.run(from, 10*time.Second, "ping", "-c", "2", "-W", "2", "-i", "0.3", to.String())
		if err != nil {
			return false, lastLine(out)
		}
		return true, summary(out)
	}
	ok, d := ping("vm1", instances[1].ip)
	add("vm1 -> vm2 (same network)", ok, "%s", d)
	ok, d = ping("vm2", instances[0].ip)
	add("vm2 -> vm1 (same network)", ok, "%s", d)
	ok, d = ping("vm1", instances[2].ip)
	add("vm1 -> vm3 (through router1, same scope)", ok, "%s", d)

	// BGP: the real peer learned exactly the scoped tenant prefixes and
	// the FIP.
	want := expectedRoutes()
	var got map[string]string
	var state string
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		state = bgpd.peerState(mgmtNode.Addr())
		got = bgpd.rib()
		if state == "established" && equalMaps(got, want) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	add("BGP session upstream <-> node1", state == "established", "state %s", state)
	add("BGP routes learned by upstream", equalMaps(got, want), "%s", formatRoutes(got))

	// gobgpd runs without zebra, so it installs nothing in the kernel:
	// do what its FIB would, and route upstream by what it learned.
	err := installRoutes(w, "upstream", got)
	add("upstream installs the BGP routes", err == nil, "%d routes in its kernel table%s", len(got), errText(err))

	// North-south: SNAT, address scopes, floating IP, security groups.
	svc := fmt.Sprintf("%s:%d", upstreamExt.Addr(), svcPort)
	line, err := w.dial("vm4", svc, 3*time.Second)
	add("vm4 -> upstream via SNAT (no address scope)", err == nil && strings.HasSuffix(line, "you are "+gatewayIP.String()),
		"upstream says %q (want the gateway %s)%s", line, gatewayIP, errText(err))
	line, err = w.dial("vm2", svc, 3*time.Second)
	add("vm2 -> upstream by fixed IP (address scope, no NAT)", err == nil && strings.HasSuffix(line, "you are "+instances[1].ip.String()),
		"upstream says %q (want vm2's own %s)%s", line, instances[1].ip, errText(err))
	line, err = w.dial("upstream", fmt.Sprintf("%s:%d", instances[2].ip, webPort), 3*time.Second)
	add("upstream -> vm by fixed IP (address scope, no NAT)", err == nil && strings.HasSuffix(line, "as "+upstreamExt.Addr().String()),
		"vm3 at %s over the BGP route via %s says %q%s", instances[2].ip, got["10.0.2.0/24"], line, errText(err))
	line, err = w.dial("vm1", svc, 3*time.Second)
	add("vm1 -> upstream via its FIP", err == nil && strings.HasSuffix(line, "you are "+floatingIP.String()),
		"upstream says %q (want the FIP %s)%s", line, floatingIP, errText(err))
	line, err = w.dial("upstream", fmt.Sprintf("%s:%d", floatingIP, webPort), 3*time.Second)
	add("upstream -> FIP:8080 (allowed)", err == nil && strings.HasSuffix(line, "as "+upstreamExt.Addr().String()),
		"vm1 says %q%s", line, errText(err))
	ok, d = ping("upstream", floatingIP)
	add("upstream -> FIP ping (allowed)", ok, "%s", d)
	line, err = w.dial("upstream", fmt.Sprintf("%s:%d", floatingIP, closedPort), 2*time.Second)
	add("upstream -> FIP:9090 (no rule)", err != nil, "denied: %s", errOr(err, "the security group", "CONNECTED: "+line))
	line, err = w.dial("vm4", fmt.Sprintf("%s:%d", instances[0].ip, webPort), 2*time.Second)
	add("vm4 -> vm1 (across address scopes)", err != nil, "%s", errOr(err, "router1 (address scopes differ)", "CONNECTED: "+line))

	add("second Apply changes nothing", second.Mutations == 0 && second.Error == "", "%d mutations in %d ms", second.Mutations, second.Millis)
	return rs
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func formatRoutes(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" via "+m[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func summary(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "packets transmitted") {
			return l
		}
	}
	return lastLine(out)
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return " — " + err.Error()
}

// errOr describes a connection that should have failed: err, a timeout
// blamed on dropper, or otherwise when it did not fail.
func errOr(err error, dropper, otherwise string) string {
	if err == nil {
		return otherwise
	}
	if strings.Contains(err.Error(), "timeout") {
		return "connection timed out (dropped by " + dropper + ")"
	}
	return err.Error()
}

// gobgpd is the upstream BGP daemon, a real third-party peer.
type gobgpd struct {
	client api.GobgpApiClient
}

func startGobgpd(w *world) (*gobgpd, error) {
	conf := filepath.Join(w.dir, "gobgpd.toml")
	sock := filepath.Join(w.dir, "gobgpd.sock")
	cfg := fmt.Sprintf(`[global.config]
  as = %d
  router-id = %q
  port = 179

[[neighbors]]
  [neighbors.config]
    neighbor-address = %q
    peer-as = %d
  [neighbors.transport.config]
    passive-mode = true
`, upstreamAS, mgmtUpstream.Addr(), mgmtNode.Addr(), localAS)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if _, err := w.start(w.command(context.Background(), "upstream", "gobgpd", "-f", conf, "--api-hosts", "unix://"+sock, "--pprof-disable", "-p", "-l", "warn")); err != nil {
		return nil, fmt.Errorf("start gobgpd (apt-get install gobgpd): %w", err)
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	g := &gobgpd{client: api.NewGobgpApiClient(conn)}
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err = g.client.GetBgp(ctx, &api.GetBgpRequest{})
		cancel()
		if err == nil {
			return g, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("gobgpd did not come up: %w", err)
}

func (g *gobgpd) peerState(addr netip.Addr) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stream, err := g.client.ListPeer(ctx, &api.ListPeerRequest{Address: addr.String()})
	if err != nil {
		return "unknown"
	}
	r, err := stream.Recv()
	if err != nil || r.Peer == nil || r.Peer.State == nil {
		return "unknown"
	}
	return strings.ToLower(strings.TrimPrefix(r.Peer.State.SessionState.String(), "SESSION_STATE_"))
}

// rib returns prefix -> next hop of the daemon's best IPv4 paths.
func (g *gobgpd) rib() map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out := map[string]string{}
	stream, err := g.client.ListPath(ctx, &api.ListPathRequest{TableType: api.TableType_GLOBAL,
		Family: &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}})
	if err != nil {
		return out
	}
	for {
		r, err := stream.Recv()
		if err != nil {
			return out
		}
		for _, p := range r.Destination.Paths {
			if !p.Best {
				continue
			}
			nlri, err := apiutil.GetNativeNlri(p)
			if err != nil {
				continue
			}
			attrs, _ := apiutil.GetNativePathAttributes(p)
			for _, a := range attrs {
				if nh, ok := a.(*gobgp.PathAttributeNextHop); ok {
					out[nlri.String()] = nh.Value.String()
				}
			}
		}
	}
}

// installRoutes puts routes (prefix -> next hop) into the main table of the
// namespace called name, as a BGP daemon's FIB would.
func installRoutes(w *world, name string, routes map[string]string) error {
	h := w.ns[name].Netlink()
	for p, nh := range routes {
		dst, err := netip.ParsePrefix(p)
		if err != nil {
			return err
		}
		gw, err := netip.ParseAddr(nh)
		if err != nil {
			return err
		}
		r := &netlink.Route{Dst: &net.IPNet{IP: dst.Addr().AsSlice(), Mask: net.CIDRMask(dst.Bits(), dst.Addr().BitLen())}, Gw: gw.AsSlice()}
		if err := h.RouteReplace(r); err != nil {
			return fmt.Errorf("route %s via %s in %s: %w", p, nh, name, err)
		}
	}
	return nil
}
