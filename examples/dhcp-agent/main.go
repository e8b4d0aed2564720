// Command dhcp-agent serves DHCP for the networks whose network:dhcp port is
// bound to one node of a Neutrino topology file: it does the work of Neutron's
// neutron-dhcp-agent (a qdhcp namespace per network, its ns- port plugged into
// the network's bridge, and a DHCPv4/DHCPv6 server answering the network's
// ports with their fixed addresses) with two realizers of the SDK, network
// (the bridges) and dhcp, and without dnsmasq: the servers run in-process.
//
//	dhcp-agent --topology topo.json --host node1               # serve; converge every --resync-interval and on SIGHUP
//	dhcp-agent --topology topo.json --host node1 --netns node1 # the node's dataplane is the named namespace
//	dhcp-agent --topology topo.json --host node1 --once        # converge once and exit
//
// The servers live in the agent's process, so --once prepares namespaces
// and ports and checks the document, but nothing answers after it exits.
// The topology is re-read at every pass: edit it and send SIGHUP, and
// reservations and options change in the running servers. SIGTERM stops the
// servers and leaves namespaces and ports in place for the next agent.
//
// It is a small example of composing the SDK's packages by hand; the
// reference node agent (examples/node-agent) runs every realizer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/agent"
	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

// config holds the flags.
type config struct {
	topology, host, prefix, netns, mappings string
	once                                    bool
	resync                                  time.Duration
	dhcp                                    dhcp.Settings
}

func main() {
	var c config
	flag.StringVar(&c.topology, "topology", "", "topology JSON file (Neutron API collections)")
	flag.StringVar(&c.host, "host", "", "this node's name: the binding:host_id of its ports")
	flag.StringVar(&c.prefix, "node-prefix", "", "prefix of the qdhcp- namespaces this node creates")
	flag.StringVar(&c.netns, "netns", "", "the node's dataplane namespace (name under /run/netns or a path); default: the agent's own")
	flag.StringVar(&c.mappings, "physical-interface-mappings", "", "physnet:interface[,...] for flat and VLAN networks")
	flag.BoolVar(&c.once, "once", false, "converge once and exit (non-zero on error)")
	flag.DurationVar(&c.resync, "resync-interval", 30*time.Second, "converge at least this often")
	flag.DurationVar(&c.dhcp.LeaseTime, "dhcp-lease-duration", 0, "lease time (Neutron's dhcp_lease_duration; default 86400s)")
	flag.StringVar(&c.dhcp.DNSDomain, "dns-domain", "", "DNS domain handed to clients (Neutron's dns_domain)")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log, c); err != nil {
		log.Error("dhcp-agent failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, c config) error {
	if c.topology == "" || c.host == "" {
		return errors.New("--topology and --host are required")
	}
	node, err := openNamespace(c.netns)
	if err != nil {
		return err
	}
	defer node.Close()
	phys, err := network.ParseInterfaceMappings(c.mappings)
	if err != nil {
		return err
	}
	bridges, err := network.NewRealizer(node, network.WithLogger(log.With("realizer", "network")),
		network.WithPhysicalInterfaceMappings(phys))
	if err != nil {
		return err
	}
	servers, err := dhcp.NewRealizer(node, dhcp.WithLogger(log.With("realizer", "dhcp")), dhcp.WithPrefix(c.prefix),
		dhcp.WithHost(c.host), dhcp.WithSettings(c.dhcp))
	if err != nil {
		return err
	}
	defer servers.Close() // stops the servers; namespaces and ports stay

	apply := func(ctx context.Context) error {
		netD, dhcpD, err := desired(c.topology, c.host)
		if err != nil {
			return err
		}
		// Bridges first: DHCP ports plug into them. A network that fails
		// does not stop the servers of the others.
		nrep, nerr := bridges.Apply(ctx, netD)
		printReport("network", nrep.Mutations(), nrep.Changes)
		drep, derr := servers.Apply(ctx, dhcpD)
		printReport("dhcp", drep.Mutations(), drep.Changes)
		return errors.Join(nerr, derr)
	}
	if c.once {
		return apply(context.Background())
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	tick := time.NewTicker(c.resync)
	defer tick.Stop()
	for {
		if err := apply(ctx); err != nil {
			log.Error("apply failed; retrying at the next resync", "err", err)
		}
		select {
		case <-ctx.Done():
			log.Info("stopping; the dataplane stays in place")
			return nil
		case <-hup:
			log.Info("SIGHUP: re-reading the topology")
		case <-tick.C:
		}
	}
}

// desired maps this host's slice of the topology onto the two realizers,
// by the one scheduling rule (agent.DesiredFor). Every network with a port
// bound here gets its bridge, not only those served here, so that the
// network realizers of agents sharing the node agree. The DHCP realizer
// picks the networks whose DHCP port is bound here (WithHost) and needs
// every port of them: those are its reservations.
func desired(file, host string) (network.Desired, dhcp.Desired, error) {
	topo, err := neutrino.LoadFile(file)
	if err != nil {
		return network.Desired{}, dhcp.Desired{}, err
	}
	topo.Defaults()
	d, err := agent.DesiredFor(topo, host)
	if err != nil {
		return network.Desired{}, dhcp.Desired{}, err
	}
	return d.Network, d.DHCP, nil
}

// openNamespace returns the node's namespace: the process's own, or the one
// named. The realizers work through per-namespace handles, so the process
// itself need not move.
func openNamespace(netns string) (*namespace.Handle, error) {
	if netns == "" {
		return namespace.Current()
	}
	return namespace.OpenPath(netns) // a bare name is looked up under /run/netns
}

func printReport(realizer string, mutations int, changes []string) {
	fmt.Printf("%s: %d mutations\n", realizer, mutations)
	for _, c := range changes {
		fmt.Printf("  %s\n", c)
	}
}
