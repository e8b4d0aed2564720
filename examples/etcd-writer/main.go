// Command etcd-writer puts a deployment's desired state into etcd for the
// node agents that watch it (node-agent --etcd-endpoints), or reads it back.
//
//	etcd-writer put --etcd-endpoints URL [--etcd-prefix /neutrino] --topology FILE
//	etcd-writer get --etcd-endpoints URL [--etcd-prefix /neutrino] > FILE
//
// put validates the whole document (after Neutron's defaults, unless
// --apply-defaults=false) and writes what differs from the stored state in
// one transaction guarded by the revision it read: objects not in FILE are
// deleted, a concurrent writer makes it read and try again, and nothing is
// half-written. It prints the revision of the transaction. get prints the
// stored document, validated, as JSON. TLS: --etcd-cacert, --etcd-cert,
// --etcd-key.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/source/etcd"
)

type options struct {
	endpoints, prefix, topology string
	caFile, certFile, keyFile   string
	defaults                    bool
	timeout                     time.Duration
}

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "put" && os.Args[1] != "get") {
		fmt.Fprintln(os.Stderr, "usage: etcd-writer put|get --etcd-endpoints URL [flags]; etcd-writer CMD -h for flags")
		os.Exit(2)
	}
	cmd := os.Args[1]
	var o options
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	fs.StringVar(&o.endpoints, "etcd-endpoints", "", "etcd client URLs, comma-separated")
	fs.StringVar(&o.prefix, "etcd-prefix", "/neutrino", "key prefix: objects are <prefix>/v1/<collection>/<id>")
	fs.StringVar(&o.topology, "topology", "", "put: the topology JSON file")
	fs.StringVar(&o.caFile, "etcd-cacert", "", "CA bundle of the etcd servers")
	fs.StringVar(&o.certFile, "etcd-cert", "", "client certificate")
	fs.StringVar(&o.keyFile, "etcd-key", "", "key of --etcd-cert")
	fs.BoolVar(&o.defaults, "apply-defaults", true, "put: fill Neutron's defaults before validating")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long the whole command may take")
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := run(ctx, cmd, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "etcd-writer "+cmd+":", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, o options, out io.Writer) error {
	if o.endpoints == "" {
		return fmt.Errorf("--etcd-endpoints is required: %w", neutrino.ErrInvalid)
	}
	cfg := clientv3.Config{Endpoints: strings.Split(o.endpoints, ","), DialTimeout: 5 * time.Second,
		Logger: zap.NewNop(), MaxCallSendMsgSize: 1 << 28, MaxCallRecvMsgSize: 1 << 30}
	if o.caFile != "" || o.certFile != "" || o.keyFile != "" {
		tc, err := (transport.TLSInfo{CertFile: o.certFile, KeyFile: o.keyFile, TrustedCAFile: o.caFile}).ClientConfig()
		if err != nil {
			return err
		}
		cfg.TLS = tc
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	switch cmd {
	case "put":
		if o.topology == "" {
			return fmt.Errorf("--topology is required: %w", neutrino.ErrInvalid)
		}
		t, err := neutrino.LoadFile(o.topology)
		if err != nil {
			return err
		}
		rev, err := etcd.NewWriter(c, o.prefix, etcd.WithWriterDefaults(o.defaults)).Put(ctx, t)
		if err != nil {
			return fmt.Errorf("%s: %w", o.topology, err)
		}
		_, err = fmt.Fprintln(out, "revision", rev)
		return err
	default:
		t, _, err := etcd.Read(ctx, c, o.prefix, false)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	}
}
