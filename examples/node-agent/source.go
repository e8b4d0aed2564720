package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/source"
	etcdsource "github.com/neutrino-net/neutrino/source/etcd"
)

// etcdOptions select the etcd source instead of --topology: the desired
// state of the whole deployment, one key per Neutron object under
// <prefix>/v1/, watched.
type etcdOptions struct {
	endpoints   string
	prefix      string
	caFile      string
	certFile    string
	keyFile     string
	dialTimeout time.Duration
}

func (e *etcdOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&e.endpoints, "etcd-endpoints", "", "etcd client URLs, comma-separated: read the desired state from etcd instead of --topology")
	fs.StringVar(&e.prefix, "etcd-prefix", "/neutrino", "etcd key prefix: objects are <prefix>/v1/<collection>/<id>")
	fs.StringVar(&e.caFile, "etcd-cacert", "", "CA bundle that signed the etcd servers' certificates (https endpoints)")
	fs.StringVar(&e.certFile, "etcd-cert", "", "client certificate presented to etcd")
	fs.StringVar(&e.keyFile, "etcd-key", "", "key of --etcd-cert")
	fs.DurationVar(&e.dialTimeout, "etcd-dial-timeout", 5*time.Second, "how long the first connection to etcd may take")
}

// client connects to etcd, failing clearly when the server refuses us
// (a bad or missing client certificate shows up here, not later).
func (e *etcdOptions) client(ctx context.Context) (*clientv3.Client, error) {
	cfg := clientv3.Config{
		Endpoints:   strings.Split(e.endpoints, ","),
		DialTimeout: e.dialTimeout,
		Logger:      zap.NewNop(),
		Context:     ctx,
	}
	if e.caFile != "" || e.certFile != "" || e.keyFile != "" {
		tc, err := (transport.TLSInfo{CertFile: e.certFile, KeyFile: e.keyFile, TrustedCAFile: e.caFile}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd TLS: %w", err)
		}
		cfg.TLS = tc
	}
	c, err := clientv3.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", e.endpoints, err)
	}
	pctx, cancel := context.WithTimeout(ctx, e.dialTimeout)
	defer cancel()
	if _, err := c.Get(pctx, strings.TrimSuffix(e.prefix, "/")+"/writer"); err != nil {
		c.Close()
		if cfg.TLS != nil {
			err = errors.Join(err, tlsProblem(cfg.Endpoints, cfg.TLS))
		}
		return nil, fmt.Errorf("etcd %s refused or unreachable (check --etcd-cacert, --etcd-cert, --etcd-key): %w", e.endpoints, err)
	}
	return c, nil
}

// tlsProblem says why a TLS endpoint refuses us: the gRPC client retries
// until its deadline and reports only that, while the handshake (or the
// server's alert on the first read, with TLS 1.3) names the cause.
func tlsProblem(endpoints []string, cfg *tls.Config) error {
	for _, ep := range endpoints {
		host := ep[strings.Index(ep, "://")+3:]
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", host, cfg)
		if err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			return fmt.Errorf("TLS with %s: %w", host, err)
		}
	}
	return nil
}

// feed runs a Source beside the agent's loop: it keeps the newest event
// and wakes the loop with triggerFile, and publishes the source's state
// as metrics. The Slicer tells whether a new snapshot concerns this host,
// so that a change elsewhere in the cloud costs no Apply.
type feed struct {
	src    source.Source
	slicer *source.Slicer

	mu   sync.Mutex
	snap *source.Snapshot
	err  error
}

func startFeed(ctx context.Context, src source.Source, host string, m *metrics, log *slog.Logger, out chan<- trigger) *feed {
	f := &feed{src: src, slicer: source.NewSlicer(host)}
	go func() {
		err := src.Run(ctx, func(e source.Event) {
			f.mu.Lock()
			if e.Snapshot != nil {
				// Snapshots not taken yet merge: the Slicer must see every change.
				if f.snap != nil {
					e.Snapshot.Delta = f.snap.Delta.Merge(e.Snapshot.Delta)
				}
				f.snap, f.err = e.Snapshot, nil
			} else {
				f.err = e.Err
				m.sourceRejected.Inc()
			}
			f.mu.Unlock()
			f.record(m)
			send(out, triggerFile)
		})
		if ctx.Err() == nil {
			log.Error("desired-state source stopped", "err", err)
		}
	}()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f.record(m)
			}
		}
	}()
	return f
}

func (f *feed) record(m *metrics) {
	st := f.src.Status()
	up := 0.0
	if st.Connected {
		up = 1
	}
	m.sourceConnected.Set(up)
	m.sourceRevision.Set(float64(st.Revision))
	m.sourceStale.Set(st.Stale(time.Now()).Seconds())
}

// next returns the newest good topology not taken yet (nil if none) and
// whether it concerns this host; a problem reported since is logged and
// counted, and does not hide the good state before it.
func (f *feed) next(m *metrics, log *slog.Logger) (*neutrino.Topology, bool) {
	f.mu.Lock()
	snap, err := f.snap, f.err
	f.snap, f.err = nil, nil
	f.mu.Unlock()
	if err != nil {
		if !f.src.Status().Connected {
			log.Warn("desired-state source unreachable; keeping the last good state", "err", errorsText(err))
		} else {
			m.loadErrors.Inc()
			m.topologyValid.Set(0)
			log.Error("desired state rejected; keeping the last good state", "err", errorsText(err))
		}
	}
	if snap == nil {
		return nil, false
	}
	if err == nil {
		m.topologyValid.Set(1)
	}
	changed, serr := f.slicer.Update(snap)
	if serr != nil {
		log.Error("slicing the desired state", "revision", snap.Revision, "err", errorsText(serr))
		return snap.Topology(), true // Apply reports it against the document
	}
	return snap.Topology(), changed
}

// load reads the stored topology once (plan, apply).
func (e *etcdOptions) load(defaults bool) (*neutrino.Topology, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*e.dialTimeout)
	defer cancel()
	c, err := e.client(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	t, _, err := etcdsource.Read(ctx, c, e.prefix, defaults)
	return t, err
}

// startEtcd connects and starts watching; the client closes with ctx.
func startEtcd(ctx context.Context, o options, m *metrics, log *slog.Logger, out chan<- trigger) (*feed, error) {
	c, err := o.etcd.client(ctx)
	if err != nil {
		return nil, err
	}
	go func() { <-ctx.Done(); c.Close() }()
	src := etcdsource.New(c, o.etcd.prefix, etcdsource.WithDefaults(o.defaults),
		etcdsource.WithLogger(log.With("source", "etcd")))
	log.Info("watching etcd", "endpoints", o.etcd.endpoints, "prefix", o.etcd.prefix)
	return startFeed(ctx, src, o.host, m, log, out), nil
}
