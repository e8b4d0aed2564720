package etcdtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// TB is what the package needs of a test: testing.TB has it, and so can a
// command (examples/etcd-sim).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skip(args ...any)
	TempDir() string
	Cleanup(func())
}

var _ TB = testing.TB(nil)

// Server is one etcd member.
type Server struct {
	t       TB
	bin     string
	dir     string
	client  string // client URL
	peer    string
	extra   []string
	prefix  []string // runs etcd in a namespace
	dial    func(ctx context.Context, address string) (net.Conn, error)
	pki     *PKI
	name    string // member name, "" for a single member
	cluster string // --initial-cluster
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	stderr  *bytes.Buffer
}

// Binary returns the etcd binary's path, or skips t naming what is missing.
func Binary(t TB) string {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd server binary not found (Debian package etcd-server): ", err)
	}
	return bin
}

// Start starts a single-member etcd and stops it when t ends. extra flags
// are passed on (e.g. "--max-txn-ops=20000").
func Start(t TB, extra ...string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir(), extra: extra,
		client: "http://" + freeAddr(t), peer: "http://" + freeAddr(t)}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// StartTLS starts a single-member etcd that serves clients over TLS with
// the server certificate of pki and accepts only clients with a certificate
// of pki's authority.
func StartTLS(t TB, pki *PKI, extra ...string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir(), pki: pki,
		extra: append([]string{"--cert-file=" + pki.ServerCert, "--key-file=" + pki.ServerKey,
			"--client-cert-auth", "--trusted-ca-file=" + pki.CA}, extra...),
		client: "https://" + freeAddr(t), peer: "http://" + freeAddr(t)}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// StartIn starts a single-member etcd inside the network namespace at
// netnsPath (through nsenter), listening on addr (an address of that
// namespace) at ports 2379 and 2380 — the namespace is the test's own, so
// they are free. dial must create connections from inside the namespace:
// the test process's clients use it.
func StartIn(t TB, netnsPath, addr string, dial func(ctx context.Context, address string) (net.Conn, error), extra ...string) *Server {
	t.Helper()
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip("nsenter not found (Debian package util-linux): ", err)
	}
	s := &Server{t: t, bin: Binary(t), dir: t.TempDir(), extra: extra, dial: dial,
		prefix: []string{nsenter, "--net=" + netnsPath},
		client: "http://" + net.JoinHostPort(addr, "2379"), peer: "http://" + net.JoinHostPort(addr, "2380")}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Endpoint returns the client URL.
func (s *Server) Endpoint() string { return s.client }

// Addr returns the client address, host:port.
func (s *Server) Addr() string { return s.client[strings.Index(s.client, "://")+3:] }

// Restart starts the member again on the same ports and data; it must be
// stopped.
func (s *Server) Restart() {
	s.t.Helper()
	s.start()
	s.waitReady()
}

func (s *Server) start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatalf("etcdtest: Restart of a running server")
	}
	name, cluster := s.name, s.cluster
	if name == "" {
		name, cluster = "m1", "m1="+s.peer
	}
	args := append([]string{
		"--name=" + name, "--data-dir=" + filepath.Join(s.dir, "data"),
		"--listen-client-urls=" + s.client, "--advertise-client-urls=" + s.client,
		"--listen-peer-urls=" + s.peer, "--initial-advertise-peer-urls=" + s.peer,
		"--initial-cluster=" + cluster, "--initial-cluster-state=new",
		"--logger=zap", "--log-level=error",
	}, s.extra...)
	argv := append(append(append([]string(nil), s.prefix...), s.bin), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	s.stderr = &bytes.Buffer{}
	cmd.Stderr = s.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("etcdtest: start %s: %v", s.bin, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(s.done)
}

// StartCluster starts an n-member cluster on loopback and stops it when t
// ends.
func StartCluster(t TB, n int, extra ...string) []*Server {
	t.Helper()
	bin := Binary(t)
	members := make([]*Server, n)
	var cluster []string
	for i := range members {
		m := &Server{t: t, bin: bin, dir: t.TempDir(), extra: extra, name: fmt.Sprintf("m%d", i+1),
			client: "http://" + freeAddr(t), peer: "http://" + freeAddr(t)}
		members[i] = m
		cluster = append(cluster, m.name+"="+m.peer)
	}
	for _, m := range members {
		m.cluster = strings.Join(cluster, ",")
		m.start()
		t.Cleanup(m.Stop)
	}
	for _, m := range members {
		m.waitReady()
	}
	return members
}

// Name returns the member's name.
func (s *Server) Name() string { return s.name }

func (s *Server) waitReady() {
	c := s.newClient()
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			s.t.Fatalf("etcdtest: etcd exited at start: %s", s.stderr.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Get(ctx, "health")
		cancel()
		if err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("etcdtest: etcd not ready after 30s: %s", s.stderr.String())
}

// Stop stops the member by its PID (SIGTERM, then SIGKILL) and waits for it.
// Stopping a stopped member does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Kill kills the member (SIGKILL) by its PID and waits for it: a crash, not
// a shutdown that hands leadership over.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// PID returns the running member's process ID, 0 when stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Client returns a client of the member, closed when the test ends.
func (s *Server) Client(t TB) *clientv3.Client {
	c, err := clientv3.New(s.config())
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *Server) config() clientv3.Config {
	cfg := clientv3.Config{Endpoints: []string{s.client}, DialTimeout: 2 * time.Second, Logger: zap.NewNop()}
	if s.dial != nil {
		cfg.DialOptions = []grpc.DialOption{grpc.WithContextDialer(s.dial)}
	}
	if s.pki != nil {
		tc, err := s.pki.clientTLS()
		if err != nil {
			s.t.Fatalf("etcdtest: client TLS: %v", err)
		}
		cfg.TLS = tc
	}
	return cfg
}

// Client returns a client of endpoints, closed when the test ends.
func Client(t TB, endpoints ...string) *clientv3.Client {
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcdtest: client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *Server) newClient() *clientv3.Client {
	c, err := clientv3.New(s.config())
	if err != nil {
		s.t.Fatalf("etcdtest: client: %v", err)
	}
	return c
}

// RSS returns the member's resident memory in bytes, from /proc.
func (s *Server) RSS() (int64, error) {
	pid := s.PID()
	if pid == 0 {
		return 0, fmt.Errorf("etcdtest: not running")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return 0, err
	}
	var size, rss int64
	if _, err := fmt.Sscan(string(b), &size, &rss); err != nil {
		return 0, err
	}
	return rss * int64(os.Getpagesize()), nil
}

func freeAddr(t TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("etcdtest: free port: %v", err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}
