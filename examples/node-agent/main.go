// Command node-agent is Neutrino's reference node service: one binary doing
// the work of Neutron's L2, L3, DHCP and BGP agents on a node.
//
//	node-agent plan    --topology FILE --host NAME   # print the changes, change nothing
//	node-agent apply   --topology FILE --host NAME   # converge once, print the report
//	node-agent run     --topology FILE --host NAME   # converge, then keep converging
//	node-agent destroy --host NAME                   # remove everything it owns on this node
//
// Instead of --topology FILE, --etcd-endpoints URLS (with --etcd-prefix and,
// for TLS, --etcd-cacert, --etcd-cert, --etcd-key) reads the desired state of
// the whole deployment from etcd, one key per Neutron object, and `run`
// watches it: see source/etcd. While etcd is unreachable the last good state
// stays realized and neutrino_source_stale_seconds grows.
//
// The dataplane lives in the namespace the agent runs in (or --netns). The BGP
// speaker always peers from the process's own namespace (gobgp opens its
// sockets on its own threads), so a simulated node runs the whole agent in
// it: `ip netns exec node1 node-agent run ...`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/agent"
	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/vpn"
)

type options struct {
	userspaceESP   bool
	topology       string
	host           string
	prefix         string
	netns          string
	mappings       string
	resync         time.Duration
	metricsAddr    string
	logLevel       string
	leaseDuration  time.Duration
	dnsDomain      string
	isolatedMeta   bool
	metadataRoute  bool
	defaults       bool
	tenantType     string
	bgpPasswords   string
	bgpRestart     time.Duration
	novaURL        string
	mdSecretFile   string
	novaCA         string
	novaCert       string
	novaKey        string
	novaInsecure   bool
	filePoll       time.Duration
	kernelDebounce time.Duration
	etcd           etcdOptions // source.go
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var o options
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	fs.StringVar(&o.topology, "topology", "", "topology JSON file (Neutron API collections)")
	hn, _ := os.Hostname()
	fs.StringVar(&o.host, "host", hn, "this node's name: the binding:host_id of its ports (Neutron's host option)")
	fs.StringVar(&o.prefix, "node-prefix", "", "prefix of every namespace this node creates (qrouter-…, qdhcp-…)")
	fs.StringVar(&o.netns, "netns", "", "run inside this network namespace (name under /run/netns or a path): the node's dataplane and BGP sessions live there")
	fs.StringVar(&o.mappings, "physical-interface-mappings", "", "physnet:interface[,physnet:interface] (Neutron's physical_interface_mappings)")
	fs.DurationVar(&o.resync, "resync-interval", 30*time.Second, "converge at least this often (Neutron's resync_interval)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "127.0.0.1:9777", "listen address of /metrics and /healthz (run only; empty: off)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&o.leaseDuration, "dhcp-lease-duration", 0, "DHCP lease time (Neutron's dhcp_lease_duration; default 86400s)")
	fs.StringVar(&o.dnsDomain, "dns-domain", "", "DNS domain handed out by DHCP (Neutron's dns_domain)")
	fs.BoolVar(&o.isolatedMeta, "enable-isolated-metadata", false, "route 169.254.169.254 via the DHCP port on isolated subnets")
	fs.BoolVar(&o.metadataRoute, "dhcp-metadata-route", false, "route 169.254.169.254 via the router on routed subnets: set only when a metadata proxy answers there (on by itself with --metadata-proxy-shared-secret-file)")
	fs.StringVar(&o.novaURL, "nova-metadata-url", metadata.DefaultNovaURL, "Nova metadata API the metadata proxy forwards to, http or https (nova_metadata_protocol://nova_metadata_host:nova_metadata_port)")
	fs.StringVar(&o.novaCA, "nova-metadata-ca", "", "CA bundle for an https Nova metadata URL (auth_ca_cert; default: system roots)")
	fs.StringVar(&o.novaCert, "nova-client-cert", "", "client certificate for an https Nova metadata URL (nova_client_cert)")
	fs.StringVar(&o.novaKey, "nova-client-priv-key", "", "its private key (nova_client_priv_key)")
	fs.BoolVar(&o.novaInsecure, "nova-metadata-insecure", false, "do not verify Nova's certificate (nova_metadata_insecure)")
	fs.StringVar(&o.mdSecretFile, "metadata-proxy-shared-secret-file", "", "file holding metadata_proxy_shared_secret; turns the in-process metadata service on (router and DHCP namespaces), never logged")
	fs.BoolVar(&o.defaults, "apply-defaults", true, "fill Neutron's defaults (gateway, pools, MTU, ...) before validating")
	fs.StringVar(&o.tenantType, "tenant-network-type", network.DefaultTenantNetworkType, "network type of networks without provider attributes, with --apply-defaults (Neutron's tenant_network_types); their VNI must still be given")
	fs.StringVar(&o.bgpPasswords, "bgp-peer-passwords", "", "file of MD5 passwords for BGP peers with auth_type md5, which Neutron's API never shows: a JSON object {\"peer-id\": \"password\"} (keep it mode 0600; never logged)")
	fs.DurationVar(&o.bgpRestart, "bgp-graceful-restart", 0, "BGP graceful restart (RFC 4724) with this restart time (e.g. 120s, at most 4095s): peers that support it keep the routes while the agent restarts, SIGTERM or SIGKILL; 0 turns it off")
	fs.DurationVar(&o.filePoll, "file-poll-interval", 500*time.Millisecond, "how often run checks the topology file for changes")
	fs.DurationVar(&o.kernelDebounce, "kernel-debounce", 200*time.Millisecond, "quiet time after a kernel change before run resyncs")
	o.etcd.register(fs)
	fs.BoolVar(&o.userspaceESP, "ipsec-userspace-esp", false, "VPN: ESP in user space (strongSwan's kernel-libipsec, ESP in UDP) for kernels without ESP transforms")
	_ = fs.Parse(args)
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "nova-metadata-url" && o.mdSecretFile == "" {
			fmt.Fprintln(os.Stderr, "node-agent: --nova-metadata-url without --metadata-proxy-shared-secret-file: no shared secret configured, metadata stays off")
			os.Exit(2)
		}
	})
	switch o.tenantType {
	case network.TypeVXLAN, network.TypeVLAN, network.TypeFlat, network.TypeLocal:
	default:
		fmt.Fprintf(os.Stderr, "node-agent: --tenant-network-type %q is not vxlan, vlan, flat or local\n", o.tenantType)
		os.Exit(2)
	}

	if o.netns != "" {
		if err := namespace.ReexecInto(o.netns); err != nil {
			fmt.Fprintln(os.Stderr, "node-agent:", err)
			os.Exit(1)
		}
	}
	log := newLogger(o.logLevel)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "plan":
		err = cmdApply(ctx, o, log, true)
	case "apply":
		err = cmdApply(ctx, o, log, false)
	case "run":
		err = cmdRun(ctx, o, log)
	case "destroy":
		err = cmdDestroy(ctx, o, log)
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "node-agent "+cmd+":", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: node-agent plan|apply|run|destroy [flags]; node-agent CMD -h for flags")
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// loadTopology reads, defaults and validates the topology file.
func loadTopology(o options) (*neutrino.Topology, error) {
	if o.etcd.endpoints != "" {
		return o.etcd.load(o.defaults)
	}
	if o.topology == "" {
		return nil, fmt.Errorf("--topology is required: %w", neutrino.ErrInvalid)
	}
	t, err := neutrino.LoadFile(o.topology)
	if err != nil {
		return nil, err
	}
	if o.defaults {
		t.Defaults(neutrino.WithTenantNetworkType(o.tenantType))
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

func openNode(o options, log *slog.Logger) (*namespace.Handle, *agent.Node, error) {
	host, err := namespace.Current() // --netns moved the process already
	if err != nil {
		return nil, nil, err
	}
	var mappings map[string]string
	if o.mappings != "" {
		if mappings, err = network.ParseInterfaceMappings(o.mappings); err != nil {
			host.Close()
			return nil, nil, err
		}
	}
	var bgpOpts []bgp.ServerOption
	if o.bgpPasswords != "" {
		pw, err := bgp.ReadPeerPasswordsFile(o.bgpPasswords)
		if err != nil {
			host.Close()
			return nil, nil, err
		}
		bgpOpts = append(bgpOpts, bgp.WithPeerPasswords(pw))
	}
	if o.bgpRestart != 0 {
		bgpOpts = append(bgpOpts, bgp.WithGracefulRestart(o.bgpRestart))
	}
	if err := bgp.CheckServerOptions(bgpOpts...); err != nil {
		host.Close()
		return nil, nil, err
	}
	var md *metadata.Config
	if o.mdSecretFile != "" {
		secret, err := metadata.ReadSecretFile(o.mdSecretFile)
		if err != nil {
			host.Close()
			return nil, nil, err
		}
		md = &metadata.Config{NovaURL: o.novaURL, SharedSecret: secret}
		if strings.HasPrefix(o.novaURL, "https:") {
			if md.TLS, err = metadata.TLSConfig(o.novaCA, o.novaCert, o.novaKey, o.novaInsecure); err != nil {
				host.Close()
				return nil, nil, err
			}
		}
	}
	node, err := agent.New(host, agent.Config{
		Host: o.host, Prefix: o.prefix, PhysicalInterfaceMappings: mappings, Logger: log,
		DHCP:       dhcp.Settings{LeaseTime: o.leaseDuration, DNSDomain: o.dnsDomain, IsolatedMetadata: o.isolatedMeta, MetadataRoute: o.metadataRoute},
		BGPOptions: bgpOpts,
		Metadata:   md,
		VPNOptions: []vpn.Option{vpn.WithUserspaceESP(o.userspaceESP)},
	})
	if err != nil {
		host.Close()
		return nil, nil, err
	}
	return host, node, nil
}

func cmdApply(ctx context.Context, o options, log *slog.Logger, dry bool) error {
	topo, err := loadTopology(o)
	if err != nil {
		return err
	}
	host, node, err := openNode(o, log)
	if err != nil {
		return err
	}
	defer host.Close()
	defer node.Close()
	var rep *agent.Report
	if dry {
		rep, err = node.Plan(ctx, topo)
		for _, s := range rep.Steps {
			for _, c := range s.Changes {
				fmt.Printf("%-9s %s\n", s.Realizer, c)
			}
		}
	} else {
		// The BGP speaker lives as long as its process: a one-shot apply
		// would announce and withdraw at once. Only `run` speaks BGP.
		var d *agent.Desired
		if d, err = agent.DesiredFor(topo, o.host); err != nil {
			return err
		}
		if d.BGP != nil {
			log.Info("BGP speaker not started: it runs under `node-agent run`", "speaker", d.BGP.Speaker.ID)
			d.BGP = nil
		}
		rep, err = node.ApplyDesired(ctx, d)
	}
	fmt.Print(rep.String())
	return err
}

func cmdDestroy(ctx context.Context, o options, log *slog.Logger) error {
	host, node, err := openNode(o, log)
	if err != nil {
		return err
	}
	defer host.Close()
	defer node.Close()
	rep, err := node.Destroy(ctx)
	fmt.Print(rep.String())
	return err
}

// errorsText flattens a joined error for one log line.
func errorsText(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
