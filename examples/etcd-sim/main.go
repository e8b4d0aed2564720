package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o options
	flag.IntVar(&o.shape.Hosts, "nodes", 100, "simulated nodes (hosts)")
	flag.IntVar(&o.shape.PortsPerHost, "ports-per-node", 10, "instance ports bound to each node")
	flag.IntVar(&o.shape.HostsPerNet, "nodes-per-network", 10, "nodes whose ports share one tenant network (a port change concerns them)")
	flag.IntVar(&o.changes, "changes", 20, "single-port changes to measure")
	flag.IntVar(&o.clients, "clients", 0, "etcd clients the nodes are spread over (0: one per node, as real nodes have)")
	flag.IntVar(&o.startConcurrency, "start-concurrency", 16, "nodes taking their first snapshot at once")
	flag.BoolVar(&o.shared, "shared", true, "share object decoding and per-revision validation between the nodes of this process")
	flag.StringVar(&o.endpoints, "etcd-endpoints", "", "etcd to use (empty: start the etcd binary on loopback)")
	flag.StringVar(&o.prefix, "etcd-prefix", "/neutrino-sim", "key prefix")
	flag.StringVar(&o.jsonOut, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the changes phase to this file")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	env := &cmdEnv{log: log}
	defer env.cleanup()
	res, err := simulate(ctx, env, o, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd-sim:", err)
		env.cleanup()
		os.Exit(1)
	}
	fmt.Print(res.String())
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "etcd-sim:", err)
		}
	}
}

// cmdEnv gives source/etcd/etcdtest what it needs of a test, for a command:
// cleanups run at exit, a fatal error ends the run.
type cmdEnv struct {
	log      *slog.Logger
	cleanups []func()
}

func (e *cmdEnv) Helper() {}

func (e *cmdEnv) Fatalf(format string, args ...any) {
	e.cleanup()
	fmt.Fprintf(os.Stderr, "etcd-sim: "+format+"\n", args...)
	os.Exit(1)
}

func (e *cmdEnv) Skip(args ...any) { e.Fatalf("%s", fmt.Sprint(args...)) }

func (e *cmdEnv) TempDir() string {
	d, err := os.MkdirTemp("", "etcd-sim-")
	if err != nil {
		e.Fatalf("%v", err)
	}
	e.cleanups = append(e.cleanups, func() { os.RemoveAll(d) })
	return d
}

func (e *cmdEnv) Cleanup(f func()) { e.cleanups = append(e.cleanups, f) }

func (e *cmdEnv) cleanup() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
}
