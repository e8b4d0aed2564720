// Command bgp-agent runs the BGP speaker a node of a Neutrino topology file is
// scheduled to host (hosts[].bgp_speakers): it does the work of Neutron's
// neutron-bgp-dragent, announcing to the speaker's peers the tenant subnets
// and floating IPs reachable through routers on the speaker's external
// networks, with the routers' gateway addresses as next hops. It uses the
// SDK's embedded gobgp server (bgp.NewServer) and its realizer, nothing else.
//
// gobgp opens its sockets on threads of its own, so the speaker peers from the
// namespace the process was started in. To speak from a node namespace,
// start the agent inside it:
//
//	nsenter --net=/run/netns/node1 bgp-agent --topology topo.json --host node1
//	bgp-agent --topology topo.json --host node1 --netns node1   # the same: re-executes itself under nsenter
//
// (not `ip netns exec`, which works too but also gives the process a private
// mount namespace it does not need.) The agent converges every
// --resync-interval and on SIGHUP, re-reading the topology each time, and
// prints the speaker's status: peer states and counts of advertised routes.
// SIGTERM closes the sessions, so peers withdraw the routes, and exits. With
// --once it applies, prints the report and the status, and exits: a check of
// the document rather than a way to announce, since the sessions close with
// the process.
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
	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/namespace"
)

// config holds the flags.
type config struct {
	topology, host, netns string
	once                  bool
	resync                time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.topology, "topology", "", "topology JSON file (Neutron API collections)")
	flag.StringVar(&c.host, "host", "", "this node's name in the topology's hosts")
	flag.StringVar(&c.netns, "netns", "", "run inside this network namespace (name under /run/netns or a path)")
	flag.BoolVar(&c.once, "once", false, "apply once, print the status and exit (non-zero on error)")
	flag.DurationVar(&c.resync, "resync-interval", 30*time.Second, "converge and print the status this often")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var err error
	if c.netns != "" {
		err = namespace.ReexecInto(c.netns) // gobgp needs every thread in the node namespace
	}
	if err == nil {
		err = run(log, c)
	}
	if err != nil {
		log.Error("bgp-agent failed", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger, c config) error {
	if c.topology == "" || c.host == "" {
		return errors.New("--topology and --host are required")
	}
	srv, err := bgp.NewServer(bgp.WithServerLogger(log.With("realizer", "bgp")))
	if err != nil {
		return err
	}
	speaker, err := bgp.NewRealizer(srv)
	if err != nil {
		return err
	}
	go func() { // Events is never closed: this lives as long as the process
		for e := range srv.Events() {
			log.Info("peer state", "peer", e.Address, "state", e.State, "last_error", e.LastError)
		}
	}()
	apply := func(ctx context.Context) error {
		d, err := desired(c.topology, c.host)
		if err != nil {
			return err
		}
		rep, err := speaker.Apply(ctx, d)
		fmt.Printf("bgp: %d mutations\n", rep.Mutations())
		for _, ch := range rep.Changes {
			fmt.Printf("  %s\n", ch)
		}
		return err
	}
	if c.once {
		err := apply(context.Background())
		printStatus(context.Background(), srv)
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
		printStatus(ctx, srv)
		select {
		case <-ctx.Done():
			log.Info("stopping: closing the BGP sessions")
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Stop(stopCtx)
		case <-hup:
			log.Info("SIGHUP: re-reading the topology")
		case <-tick.C:
		}
	}
}

// desired maps this host's slice of the topology onto the BGP realizer, by
// the one scheduling rule (agent.DesiredFor). A host with no speaker gets
// the zero Desired, which stops BGP.
func desired(file, host string) (bgp.Desired, error) {
	topo, err := neutrino.LoadFile(file)
	if err != nil {
		return bgp.Desired{}, err
	}
	topo.Defaults()
	d, err := agent.DesiredFor(topo, host)
	if err != nil || d.BGP == nil {
		return bgp.Desired{}, err
	}
	return *d.BGP, nil
}

func printStatus(ctx context.Context, srv *bgp.Server) {
	st, err := srv.Status(ctx)
	switch {
	case err != nil:
		fmt.Printf("status: %v\n", err)
		return
	case !st.Running:
		fmt.Println("status: not running (no speaker on this host)")
		return
	}
	fmt.Printf("status: running=%v as=%d router-id=%s advertised=%d\n", st.Running, st.AS, st.RouterID, st.Advertised)
	for _, p := range st.Peers {
		fmt.Printf("  peer %s as=%d %s advertised=%d received=%d flaps=%d %s\n",
			p.Address, p.RemoteAS, p.State, p.Advertised, p.Received, p.Flaps, p.LastError)
	}
}
