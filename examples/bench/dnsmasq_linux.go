package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/port"
)

// The baselines' DHCP: one dnsmasq per network in its qdhcp namespace,
// with Neutron's command line (Dnsmasq._build_cmdline_callback) and files
// (a hosts file of static reservations, an options file), daemonized with
// a pid file as Neutron runs it, reloaded with SIGHUP when a port comes
// and stopped by PID.

type dhcpNet struct {
	id, ns, dev string
	mtu         int
	subnets     []dhcpSubnet
	ports       []port.Port
}

type dhcpSubnet struct {
	id      string
	cidr    netip.Prefix
	gateway netip.Addr
	dns     []netip.Addr
}

// dhcpNets are the networks whose DHCP port is bound to the node, with
// their IPv4 subnets that have DHCP on.
func dhcpNets(t *neutrino.Topology) []*dhcpNet {
	var out []*dhcpNet
	byNet := map[string]*dhcpNet{}
	for _, p := range t.Ports {
		if p.ServesDHCPOn(nodeName) {
			d := &dhcpNet{id: p.NetworkID, ns: dhcp.Namespace(p.NetworkID), dev: dhcp.Interface(p.ID)}
			byNet[p.NetworkID] = d
			out = append(out, d)
		}
	}
	for _, n := range t.Networks {
		if d := byNet[n.ID]; d != nil {
			d.mtu = n.MTU
		}
	}
	for _, s := range t.Subnets {
		if d := byNet[s.NetworkID]; d != nil && s.DHCPEnabled() && s.CIDR.Addr().Is4() {
			d.subnets = append(d.subnets, dhcpSubnet{id: s.ID, cidr: s.CIDR, gateway: s.GatewayIP, dns: s.DNSNameservers})
		}
	}
	for _, p := range t.Ports {
		if d := byNet[p.NetworkID]; d != nil && len(p.FixedIPs) > 0 {
			d.ports = append(d.ports, p)
		}
	}
	return out
}

// dnsmasqs are the daemons of one baseline node.
type dnsmasqs struct {
	w    *world
	n    *node
	dir  string
	pids map[string]int // network id -> pid
}

func (w *world) newDnsmasqs(n *node) (*dnsmasqs, error) {
	dir := filepath.Join(w.dir, n.prefix+"dhcp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &dnsmasqs{w: w, n: n, dir: dir, pids: map[string]int{}}, nil
}

func (d *dnsmasqs) netDir(id string) string { return filepath.Join(d.dir, id) }

// writeFiles writes a network's hosts, options and leases files.
func (d *dnsmasqs) writeFiles(nw *dhcpNet) error {
	dir := d.netDir(nw.id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var hosts, opts strings.Builder
	for _, p := range nw.ports {
		for _, f := range p.FixedIPs {
			name := p.DNSName
			if name == "" {
				name = "host-" + strings.ReplaceAll(f.IPAddress.String(), ".", "-")
			}
			fmt.Fprintf(&hosts, "%s,%s.%s.,%s\n", p.MACAddress, name, dhcp.DefaultDNSDomain, f.IPAddress)
		}
	}
	for _, s := range nw.subnets {
		if s.gateway.IsValid() {
			fmt.Fprintf(&opts, "tag:subnet-%s,option:router,%s\n", s.id, s.gateway)
		}
		if len(s.dns) > 0 {
			var dns []string
			for _, a := range s.dns {
				dns = append(dns, a.String())
			}
			fmt.Fprintf(&opts, "tag:subnet-%s,option:dns-server,%s\n", s.id, strings.Join(dns, ","))
		}
	}
	for name, body := range map[string]string{"host": hosts.String(), "opts": opts.String(), "addn_hosts": "", "leases": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// argv is Neutron's dnsmasq command line for the network, DNS off (port=0:
// Neutrino's DHCP serves no DNS either), staying root to read the run's
// private files.
func (d *dnsmasqs) argv(nw *dhcpNet) []string {
	dir := d.netDir(nw.id)
	args := []string{"dnsmasq", "--no-hosts", "--no-resolv", "--port=0", "--user=root",
		"--pid-file=" + dir + "/pid", "--dhcp-hostsfile=" + dir + "/host", "--addn-hosts=" + dir + "/addn_hosts",
		"--dhcp-optsfile=" + dir + "/opts", "--dhcp-leasefile=" + dir + "/leases",
		"--dhcp-match=set:ipxe,175", "--dhcp-userclass=set:ipxe6,iPXE", "--local-service", "--bind-dynamic",
		"--interface=" + nw.dev, "--except-interface=lo"}
	for _, s := range nw.subnets {
		args = append(args, fmt.Sprintf("--dhcp-range=set:subnet-%s,%s,static,%s,86400s", s.id, s.cidr.Addr(), maskOf(s.cidr)))
	}
	return append(args, fmt.Sprintf("--dhcp-option-force=option:mtu,%d", nw.mtu),
		fmt.Sprintf("--dhcp-lease-max=%d", max(16, len(nw.ports))), "--conf-file=/dev/null", "--domain="+dhcp.DefaultDNSDomain)
}

func maskOf(p netip.Prefix) string {
	m := uint32(0xffffffff) << (32 - p.Bits())
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// start writes each network's files and starts its dnsmasq in its qdhcp
// namespace; each returns once the daemon has forked and written its pid.
func (d *dnsmasqs) start(r *runner, nets []*dhcpNet) error {
	for _, nw := range nets {
		if err := d.writeFiles(nw); err != nil {
			return err
		}
		pidFile := filepath.Join(d.netDir(nw.id), "pid")
		d.w.addPidFile(pidFile)
		if err := r.run("", d.n.inNS(nw.ns, d.argv(nw)...)...); err != nil {
			return err
		}
		pid, err := waitPid(pidFile)
		if err != nil {
			return err
		}
		d.pids[nw.id] = pid
	}
	return nil
}

func waitPid(file string) (int, error) {
	for range 200 {
		if b, err := os.ReadFile(file); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				return pid, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("dnsmasq wrote no pid to %s", file)
}

// reload rewrites a network's hosts file and sends SIGHUP, as Neutron's
// reload_allocations: with a `kill` process (per operation) or a signal
// (batched).
func (d *dnsmasqs) reload(r *runner, nw *dhcpNet, sty style) error {
	if err := d.writeFiles(nw); err != nil {
		return err
	}
	return d.signal(r, d.pids[nw.id], syscall.SIGHUP, sty)
}

func (d *dnsmasqs) signal(r *runner, pid int, sig syscall.Signal, sty style) error {
	if pid <= 1 {
		return fmt.Errorf("no dnsmasq running")
	}
	if sty == perOp {
		return r.run("", "kill", "-"+strconv.Itoa(int(sig)), strconv.Itoa(pid))
	}
	return syscall.Kill(pid, sig)
}

// stop kills every daemon by PID, as Neutron's disable (kill -9).
func (d *dnsmasqs) stop(r *runner, sty style) error {
	for id, pid := range d.pids {
		if err := d.signal(r, pid, syscall.SIGKILL, sty); err != nil {
			return err
		}
		delete(d.pids, id)
	}
	return nil
}
