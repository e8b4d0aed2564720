package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/agent"
	"github.com/neutrino-net/neutrino/metadata"
	"github.com/neutrino-net/neutrino/metadata/novatest"
	"github.com/neutrino-net/neutrino/namespace"
)

// agentMode is the demo's node agent: the demo re-executes itself inside
// node1's namespace (nsenter --net), because the embedded BGP speaker opens
// its sockets on its own threads and so must run in a process that lives
// in the node's namespace. It applies the topology twice (the second Apply
// must change nothing), reports both on stdout as JSON lines, then keeps
// the DHCP servers and the BGP speaker running until SIGTERM.
const agentMode = "__agent"

// metadataSecret is the demo's metadata_proxy_shared_secret.
const metadataSecret = "demo-metadata-secret"

type applyResult struct {
	Mutations int    `json:"mutations"`
	Millis    int64  `json:"ms"`
	Report    string `json:"report"`
	Error     string `json:"error,omitempty"`
}

func runAgent(topoFile, prefix string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	topo, err := neutrino.LoadFile(topoFile)
	if err != nil {
		return err
	}
	host, err := namespace.Current()
	if err != nil {
		return err
	}
	defer host.Close()
	// Nova's metadata API, stood in for on node1's loopback: the agent's
	// metadata proxy forwards the instances' signed requests to it.
	nova := novatest.New([]byte(metadataSecret))
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go nova.Serve(ln)
	node, err := agent.New(host, agent.Config{
		Host: nodeName, Prefix: prefix, Logger: log,
		PhysicalInterfaceMappings: map[string]string{physnet: extIface},
		Metadata:                  &metadata.Config{NovaURL: "http://" + ln.Addr().String(), SharedSecret: []byte(metadataSecret)},
	})
	if err != nil {
		return err
	}
	defer node.Close()
	enc := json.NewEncoder(os.Stdout)
	for range 2 {
		start := time.Now()
		rep, err := node.Apply(ctx, topo)
		res := applyResult{Mutations: rep.Mutations(), Millis: time.Since(start).Milliseconds(), Report: rep.String()}
		if err != nil {
			res.Error = err.Error()
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// startAgent launches agentMode inside node1's namespace.
func startAgent(w *world, topoFile string) (*agentHandle, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := execCommand("nsenter", "--net="+w.path("node1"), "--", exe, agentMode, topoFile, w.prefix)
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = pw
	logs, err := w.start(cmd)
	pw.Close()
	if err != nil {
		return nil, err
	}
	return &agentHandle{dec: json.NewDecoder(pr), logs: logs}, nil
}

type agentHandle struct {
	dec  *json.Decoder
	logs fmt.Stringer
}

// next waits for the agent's next Apply result.
func (a *agentHandle) next(timeout time.Duration) (applyResult, error) {
	type r struct {
		res applyResult
		err error
	}
	ch := make(chan r, 1)
	go func() {
		var res applyResult
		err := a.dec.Decode(&res)
		ch <- r{res, err}
	}()
	select {
	case got := <-ch:
		if got.err != nil {
			return applyResult{}, fmt.Errorf("agent exited: %v\n%s", got.err, a.logs)
		}
		return got.res, nil
	case <-time.After(timeout):
		return applyResult{}, fmt.Errorf("agent gave no result in %s\n%s", timeout, a.logs)
	}
}
