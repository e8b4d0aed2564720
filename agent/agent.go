package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/firewall"
	"github.com/neutrino-net/neutrino/internal/nodestate"
	"github.com/neutrino-net/neutrino/loadbalancer"
	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/qos"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/vpn"
)

// Config is the node's configuration, named after Neutron's agent options
// where one exists.
type Config struct {
	// Host is this node's name: the binding:host_id of its ports (Neutron's
	// `host` option).
	Host string
	// Prefix goes before every namespace name the node creates
	// (qrouter-…, qdhcp-…), so several simulated nodes can share a machine.
	Prefix string
	// PhysicalInterfaceMappings maps provider:physical_network names to
	// interfaces (physical_interface_mappings).
	PhysicalInterfaceMappings map[string]string
	// DHCP holds the DHCP agent's options (dhcp_lease_duration, dns_domain,
	// enable_isolated_metadata, and whether a metadata proxy answers in the
	// routers: MetadataRoute).
	DHCP dhcp.Settings
	// BGPServer is the process's BGP server. Nil: created on first need,
	// in the namespace the process runs in.
	BGPServer *bgp.Server
	// BGPOptions configure a server the node creates itself, e.g.
	// bgp.WithPeerPasswords for md5 peers, whose passwords Neutron's API
	// never shows.
	BGPOptions []bgp.ServerOption
	Logger     *slog.Logger

	// Metadata turns the metadata service on (nil: off): a listener in
	// every router and DHCP namespace of the node, forwarding signed
	// requests to Nova. With it, routers redirect 169.254.169.254 to their
	// listener, the DHCP namespaces hold the metadata addresses, and DHCP
	// hands out the metadata route (dhcp.Settings.MetadataRoute and
	// IsolatedMetadata are turned on).
	Metadata *metadata.Config
	// MetadataOptions configure the metadata service. By default it reaches
	// Nova from the node's namespace (host).
	MetadataOptions []metadata.Option

	// FirewallOptions configure the firewall realizer (flow log sink, rate
	// limits); by default flow records go to Logger.
	FirewallOptions []firewall.Option
	// SecGroupOptions configure the security group realizer (flow log
	// sink, rate limits, NFLOG group); by default flow records go to
	// Logger.
	SecGroupOptions []secgroup.Option

	// VPNOptions configure the VPN realizer (vpn.WithUserspaceESP on
	// kernels without ESP, its run directory), which the node creates when
	// a router of its first has a VPN service; the node prefix is added.
	VPNOptions []vpn.Option
}

// Node runs every realizer of one host. Safe for concurrent use; Apply,
// Plan and Destroy run one at a time.
type Node struct {
	cfg  Config
	host *namespace.Handle
	log  *slog.Logger

	mu      sync.Mutex
	net     *network.Realizer
	port    *port.Realizer
	qos     *qos.Realizer
	router  *router.Realizer
	dhcp    *dhcp.Realizer
	sg      *secgroup.Realizer
	fw      *firewall.Realizer
	lb      *loadbalancer.Realizer
	md      *metadata.Realizer // nil: metadata off
	bgpSrv  *bgp.Server
	bgpReal *bgp.Realizer

	// dumpPerRealizer turns the pass's shared link dump off, so that a
	// benchmark can measure what sharing saves; linkDumps is how many
	// shared dumps the last pass made.
	dumpPerRealizer bool
	linkDumps       int
	vpn             *vpn.Realizer
	// vpnStatus is the connections' status after the last Apply or Plan.
	vpnStatus map[string]vpn.ConnStatus
}

// New returns the node whose dataplane lives in host (the node's network
// namespace; in tests and the demo a throwaway one).
func New(host *namespace.Handle, cfg Config) (*Node, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("agent config: host name is required: %w", neutrino.ErrInvalid)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, host: host, log: log, bgpSrv: cfg.BGPServer}
	// google/nftables waits on its sockets with select(2), which panics for
	// descriptors from 1024 on. A node holds ~9 descriptors per router
	// namespace, so the node's long-lived nftables connection is opened
	// first, while descriptor numbers are still low.
	if _, err := host.NFT(); err != nil {
		return nil, err
	}
	var err, e error
	n.net, e = network.NewRealizer(host, network.WithLogger(log.With("realizer", "network")),
		network.WithPhysicalInterfaceMappings(cfg.PhysicalInterfaceMappings))
	err = errors.Join(err, e)
	n.port, e = port.NewRealizer(host, port.WithLogger(log.With("realizer", "port")))
	err = errors.Join(err, e)
	n.qos, e = qos.NewRealizer(host, qos.WithLogger(log.With("realizer", "qos")))
	err = errors.Join(err, e)
	routerOpts := []router.Option{router.WithLogger(log.With("realizer", "router")), router.WithPrefix(cfg.Prefix)}
	if cfg.Metadata != nil {
		n.md, e = metadata.NewRealizer(*cfg.Metadata, append([]metadata.Option{metadata.WithLogger(log.With("realizer", "metadata")),
			metadata.WithPrefix(cfg.Prefix), metadata.WithUpstreamNamespace(host)}, cfg.MetadataOptions...)...)
		if e != nil {
			return nil, fmt.Errorf("metadata: %w", e)
		}
		routerOpts = append(routerOpts, router.WithMetadataPort(n.md.RouterPort()))
		cfg.DHCP.MetadataRoute, cfg.DHCP.IsolatedMetadata = true, true
	}
	n.router, e = router.NewRealizer(host, routerOpts...)
	err = errors.Join(err, e)
	n.dhcp, e = dhcp.NewRealizer(host, dhcp.WithLogger(log.With("realizer", "dhcp")), dhcp.WithPrefix(cfg.Prefix),
		dhcp.WithHost(cfg.Host), dhcp.WithSettings(cfg.DHCP))
	err = errors.Join(err, e)
	n.sg, e = secgroup.NewRealizer(host, append([]secgroup.Option{secgroup.WithLogger(log.With("realizer", "secgroup")),
		secgroup.WithFlowLog(log.With("realizer", "secgroup"))}, cfg.SecGroupOptions...)...)
	err = errors.Join(err, e)
	n.fw, e = firewall.NewRealizer(host, append([]firewall.Option{firewall.WithLogger(log.With("realizer", "firewall")),
		firewall.WithFlowLog(log.With("realizer", "firewall")), firewall.WithPrefix(cfg.Prefix)}, cfg.FirewallOptions...)...)
	err = errors.Join(err, e)
	n.lb, e = loadbalancer.NewRealizer(host, loadbalancer.WithLogger(log.With("realizer", "loadbalancer")), loadbalancer.WithPrefix(cfg.Prefix))
	err = errors.Join(err, e)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// Apply converges the node to topo's slice for this host. Invalid input
// changes nothing; a failing realizer does not stop the others.
func (n *Node) Apply(ctx context.Context, topo *neutrino.Topology) (*Report, error) {
	d, err := DesiredFor(topo, n.cfg.Host)
	if err != nil {
		return &Report{}, err
	}
	return n.ApplyDesired(ctx, d)
}

// Plan reports what Apply would change, changing nothing.
func (n *Node) Plan(ctx context.Context, topo *neutrino.Topology) (*Report, error) {
	d, err := DesiredFor(topo, n.cfg.Host)
	if err != nil {
		return &Report{}, err
	}
	return n.PlanDesired(ctx, d)
}

// ApplyDesired converges the node to an already computed Desired.
func (n *Node) ApplyDesired(ctx context.Context, d *Desired) (*Report, error) {
	return n.run(ctx, d, false, false)
}

// PlanDesired reports what ApplyDesired would change, changing nothing.
func (n *Node) PlanDesired(ctx context.Context, d *Desired) (*Report, error) {
	return n.run(ctx, d, true, false)
}

// Destroy removes everything the node's realizers own, in reverse order, and
// nothing else. The BGP speaker stops; the process's gobgp server stays.
func (n *Node) Destroy(ctx context.Context) (*Report, error) {
	return n.run(ctx, &Desired{}, false, true)
}

func (n *Node) run(ctx context.Context, d *Desired, dry, reverse bool) (*Report, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	// One link dump for the pass, shared by the realizers that read the
	// host's links, until one of them changes the node.
	pass := nodestate.New(n.host)
	if !n.dumpPerRealizer {
		ctx = nodestate.With(ctx, pass)
	}
	defer func() { n.linkDumps = pass.Dumps() }()
	steps := []func() Step{
		func() Step {
			if dry {
				rep, err := n.net.Plan(ctx, d.Network)
				return fromReport("network", rep, err)
			}
			rep, err := n.net.Apply(ctx, d.Network)
			return fromReport("network", rep, err)
		},
		func() Step {
			if dry {
				rep, err := n.port.Plan(ctx, d.Port)
				return fromReport("port", rep, err)
			}
			rep, err := n.port.Apply(ctx, d.Port)
			return fromReport("port", rep, err)
		},
		func() Step {
			if dry {
				rep, err := n.qos.Plan(ctx, d.QoS)
				return fromReport("qos", rep, err)
			}
			rep, err := n.qos.Apply(ctx, d.QoS)
			return fromReport("qos", rep, err)
		},
		func() Step {
			if dry {
				rep, err := n.router.Plan(ctx, d.Router)
				return fromReport("router", rep, err)
			}
			rep, err := n.router.Apply(ctx, d.Router)
			return fromReport("router", rep, err)
		},
		func() Step {
			if dry {
				rep, err := n.fw.Plan(ctx, d.Firewall)
				return fromReport("firewall", rep, err)
			}
			rep, err := n.fw.Apply(ctx, d.Firewall)
			return fromReport("firewall", rep, err)
		},
		func() Step { return n.applyVPN(ctx, d.VPN, dry) },
		func() Step {
			if dry {
				rep, err := n.dhcp.Plan(ctx, d.DHCP)
				return fromReport("dhcp", rep, err)
			}
			rep, err := n.dhcp.Apply(ctx, d.DHCP)
			return fromReport("dhcp", rep, err)
		},
	}
	if n.md != nil {
		// Right after DHCP: its listeners open in the router and DHCP
		// namespaces.
		steps = append(steps, func() Step { return n.metadataStep(ctx, d.Metadata, dry) })
	}
	steps = append(steps,
		func() Step {
			if dry {
				rep, err := n.sg.Plan(ctx, d.SecGroup)
				return fromReport("secgroup", rep, err)
			}
			rep, err := n.sg.Apply(ctx, d.SecGroup)
			return fromReport("secgroup", rep, err)
		},
		func() Step { return n.applyLoadBalancers(ctx, d.LoadBalancer, dry) },
		func() Step { return n.applyBGP(ctx, d.BGP, dry) },
	)
	if reverse {
		for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
			steps[i], steps[j] = steps[j], steps[i]
		}
	}
	rep := &Report{}
	var errs []error
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		st := s()
		rep.Steps = append(rep.Steps, st)
		if !dry && (st.Mutations() > 0 || st.Err != nil) {
			pass.Invalidate() // the node changed, or may have: the next reader dumps afresh
		}
		if st.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.Realizer, st.Err))
		}
	}
	return rep, errors.Join(errs...)
}

func (n *Node) applyBGP(ctx context.Context, d *bgp.Desired, dry bool) Step {
	if d == nil {
		if n.bgpReal == nil {
			return Step{Realizer: "bgp"}
		}
		d = &bgp.Desired{} // stops the speaker
	}
	if n.bgpReal == nil {
		if n.bgpSrv == nil {
			if dry {
				return Step{Realizer: "bgp", Report: network.Report{Changes: []string{"start BGP speaker " + d.Speaker.ID}}}
			}
			srv, err := bgp.NewServer(append([]bgp.ServerOption{bgp.WithServerLogger(n.log.With("realizer", "bgp"))}, n.cfg.BGPOptions...)...)
			if err != nil {
				return Step{Realizer: "bgp", Err: err}
			}
			n.bgpSrv = srv
		}
		r, err := bgp.NewRealizer(n.bgpSrv, bgp.WithLogger(n.log.With("realizer", "bgp")))
		if err != nil {
			return Step{Realizer: "bgp", Err: err}
		}
		n.bgpReal = r
	}
	var (
		rep *bgp.Report
		err error
	)
	if dry {
		rep, err = n.bgpReal.Plan(ctx, *d)
	} else {
		rep, err = n.bgpReal.Apply(ctx, *d)
	}
	return fromReport("bgp", rep, err)
}

// BGP returns the process's BGP server, or nil if the node runs no speaker.
func (n *Node) BGP() *bgp.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bgpSrv
}

// Close stops the DHCP servers and background work (GARP bursts) of the
// node's realizers, leaving the dataplane in place: a restarted agent takes
// it over.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	errs := []error{n.dhcp.Close(), n.router.Close(), n.fw.Close(), n.lb.Close(), n.sg.Close(), n.qos.Close(), n.port.Close(), n.net.Close()}
	if n.md != nil {
		errs = append(errs, n.md.Close())
	}
	if n.vpn != nil {
		errs = append(errs, n.vpn.Close())
	}
	if n.bgpReal != nil {
		errs = append(errs, n.bgpReal.Close())
	}
	return errors.Join(errs...)
}

// DHCPStats returns the counters of the node's running DHCP servers, by
// network ID.
func (n *Node) DHCPStats() map[string]dhcp.Stats { return n.dhcp.Stats() }

// FlowStats returns the flow records the node's realizers delivered so
// far (Neutron network logging), per realizer ("firewall", "secgroup").
func (n *Node) FlowStats() map[string]firewall.FlowStats {
	return map[string]firewall.FlowStats{"firewall": n.fw.FlowStats(), "secgroup": n.sg.FlowStats()}
}
