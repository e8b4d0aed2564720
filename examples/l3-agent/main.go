// Command l3-agent realizes the routers of one node from a Neutrino topology
// file: it does the work of Neutron's neutron-l3-agent (qrouter namespaces,
// qr-/qg- interfaces, extra routes, SNAT, floating IPs, gratuitous ARP) with
// two realizers of the SDK, network (the bridges the router ports plug into)
// and router, and nothing else.
//
//	l3-agent --topology topo.json --host node1 --once        # converge once and exit
//	l3-agent --topology topo.json --host node1               # converge, then every --resync-interval and on SIGHUP
//	l3-agent --topology topo.json --host node1 --netns node1 # the node's dataplane is the named namespace
//
// The topology is re-read at every pass, so editing it and sending SIGHUP
// applies the change. SIGTERM stops the agent and leaves the dataplane in
// place: a restarted agent takes it over without disturbing traffic.
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
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/router"
)

// config holds the flags.
type config struct {
	topology, host, prefix, netns, mappings string
	once                                    bool
	resync                                  time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.topology, "topology", "", "topology JSON file (Neutron API collections)")
	flag.StringVar(&c.host, "host", "", "this node's name: the binding:host_id of its ports")
	flag.StringVar(&c.prefix, "node-prefix", "", "prefix of the qrouter- namespaces this node creates")
	flag.StringVar(&c.netns, "netns", "", "the node's dataplane namespace (name under /run/netns or a path); default: the agent's own")
	flag.StringVar(&c.mappings, "physical-interface-mappings", "", "physnet:interface[,...] for flat and VLAN networks")
	flag.BoolVar(&c.once, "once", false, "converge once and exit (non-zero on error)")
	flag.DurationVar(&c.resync, "resync-interval", 30*time.Second, "converge at least this often")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log, c); err != nil {
		log.Error("l3-agent failed", "err", err)
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
	routers, err := router.NewRealizer(node, router.WithLogger(log.With("realizer", "router")), router.WithPrefix(c.prefix))
	if err != nil {
		return err
	}
	defer routers.Close() // stops gratuitous ARP in flight; the routers stay

	apply := func(ctx context.Context) error {
		netD, rtrD, err := desired(c.topology, c.host)
		if err != nil {
			return err
		}
		// Bridges first: router ports plug into them. A network that fails
		// does not stop the routers that do not need it.
		nrep, nerr := bridges.Apply(ctx, netD)
		printReport("network", nrep.Mutations(), nrep.Changes)
		rrep, rerr := routers.Apply(ctx, rtrD)
		printReport("router", rrep.Mutations(), rrep.Changes)
		return errors.Join(nerr, rerr)
	}
	if c.once {
		err := apply(context.Background())
		routers.Wait() // let the gratuitous ARP bursts go out before exiting
		return err
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
// bound here gets its bridge, not only the routers' networks: a dhcp-agent
// or an L2 agent on the same node computes the same set, so their network
// realizers agree on which bridges exist instead of deleting each other's.
func desired(file, host string) (network.Desired, router.Desired, error) {
	topo, err := neutrino.LoadFile(file)
	if err != nil {
		return network.Desired{}, router.Desired{}, err
	}
	topo.Defaults()
	d, err := agent.DesiredFor(topo, host)
	if err != nil {
		return network.Desired{}, router.Desired{}, err
	}
	return d.Network, d.Router, nil
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
