package vpn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strongswan/govici/vici"

	"github.com/neutrino-net/neutrino/namespace"
)

// daemon is the charon of one router namespace.
type daemon struct {
	routerID string
	dir      string
	pid      int
	// exited is closed when the process the realizer started exits; nil
	// for a daemon adopted from an earlier run, which is watched by pid.
	exited chan struct{}
	sess   *vici.Session
	// evSess carries the events: govici takes an event that arrives
	// while a command waits for its reply for a bad reply. log events
	// (many) and SA up/down events (few, and none may be lost) come on
	// channels of their own.
	evSess, saSess  *vici.Session
	events, updowns chan vici.Event
	// loaded maps the connections this realizer loaded into this daemon
	// to their fingerprints. A daemon adopted from an earlier run has its
	// connections loaded again once, since what they hold is unknown.
	loaded map[string]string

	mu      sync.Mutex
	reasons map[string]string // connection -> last failure charon logged
	// installed holds, per connection, the unique IDs of its installed
	// CHILD_SAs, as child-updown and child-rekey events tell.
	installed map[string]map[string]bool
}

// pluginsFor lists the plugins a daemon loads: only what IKE with PSKs,
// the algorithms Validate accepts, vici and the chosen ESP path need.
// kernel-libipsec must come before kernel-netlink to own the IPsec part
// of the kernel interface.
func pluginsFor(userspace bool) string {
	kernel := "kernel-netlink"
	if userspace {
		kernel = "kernel-libipsec kernel-netlink"
	}
	return "random nonce aes sha1 sha2 hmac xcbc gmp openssl pem pkcs1 x509 pubkey kdf socket-default " + kernel + " vici"
}

// strongswanConf is the daemon's static configuration, written once when
// it starts: everything that changes goes through vici.
func strongswanConf(dir string, userspace bool) string {
	return fmt.Sprintf(`# Written by Neutrino's vpn realizer; connections are loaded through vici.
charon-systemd {
  load = %s
  install_routes = yes
  install_virtual_ip = no
  retransmit_tries = 3
  retransmit_timeout = 2.0
  plugins {
    vici {
      socket = unix://%s
    }
  }
}
`, pluginsFor(userspace), filepath.Join(dir, "charon.vici"))
}

func (d *daemon) socket() string { return filepath.Join(d.dir, "charon.vici") }

// startDaemon starts charon inside the router namespace h: the process is
// forked from a thread switched into it, so its sockets, TUN device and
// routes are the router's.
func startDaemon(ctx context.Context, cfg *config, h *namespace.Handle, routerID string) (*daemon, error) {
	d := &daemon{routerID: routerID, dir: filepath.Join(cfg.runDir, routerID), loaded: map[string]string{}, reasons: map[string]string{},
		installed: map[string]map[string]bool{}}
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(d.dir, "strongswan.conf")
	if err := os.WriteFile(conf, []byte(strongswanConf(d.dir, cfg.userspaceESP)), 0o600); err != nil {
		return nil, err
	}
	_ = os.Remove(d.socket())
	logf, err := os.OpenFile(filepath.Join(d.dir, "charon.out"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(cfg.charon)
	cmd.Env = []string{"STRONGSWAN_CONF=" + conf, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a signal to the agent's group (Ctrl-C) does
	// not take the tunnels down with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if cfg.boundToUs {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
	}
	if err := h.Do(cmd.Start); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.charon, err)
	}
	d.pid = cmd.Process.Pid
	d.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(d.exited)
	}()
	if err := os.WriteFile(filepath.Join(d.dir, "charon.pid"), []byte(strconv.Itoa(d.pid)+"\n"), 0o600); err != nil {
		d.stop(cfg.log)
		return nil, err
	}
	deadline := time.Now().Add(cfg.startTimeout)
	for {
		if err := d.connect(cfg.log); err == nil {
			return d, nil
		} else if time.Now().After(deadline) || !d.alive() {
			out, _ := os.ReadFile(filepath.Join(d.dir, "charon.out"))
			d.stop(cfg.log)
			return nil, fmt.Errorf("charon did not open its vici socket (%v): %s", err, bytes.TrimSpace(out))
		}
		select {
		case <-ctx.Done():
			d.stop(cfg.log)
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// adoptDaemon takes over the charon an earlier run of the realizer left in
// dir, if it is alive and answers on its socket.
func adoptDaemon(cfg *config, routerID string) (*daemon, error) {
	d := &daemon{routerID: routerID, dir: filepath.Join(cfg.runDir, routerID), loaded: map[string]string{}, reasons: map[string]string{},
		installed: map[string]map[string]bool{}}
	b, err := os.ReadFile(filepath.Join(d.dir, "charon.pid"))
	if err != nil {
		return d, err
	}
	if d.pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || !d.ours() {
		return d, fmt.Errorf("no charon of ours runs for %s", d.dir)
	}
	if err := d.connect(cfg.log); err != nil {
		return d, err
	}
	// What the earlier run loaded: unchanged connections stay as they are
	// (and their SAs up) instead of being loaded again.
	if b, err := os.ReadFile(d.loadedFile()); err == nil {
		_ = json.Unmarshal(b, &d.loaded)
	}
	d.seedInstalled()
	return d, nil
}

func (d *daemon) loadedFile() string { return filepath.Join(d.dir, "loaded.json") }

// saveLoaded records the fingerprints of the loaded connections for a
// later run to adopt. They are SHA-256 hashes that cover the keys; the
// file is root's alone, like charon's own memory of the keys.
func (d *daemon) saveLoaded() error {
	b, err := json.Marshal(d.loaded)
	if err != nil {
		return err
	}
	return os.WriteFile(d.loadedFile(), b, 0o600)
}

// seedInstalled reads the installed CHILD_SAs of an adopted daemon, whose
// up events went to an earlier run. govici v0.8 can end a streamed
// command before its last event (see doc.go), so it asks three times and
// keeps what any answer listed.
func (d *daemon) seedInstalled() {
	s, err := vici.NewSession(vici.WithSocketPath(d.socket()))
	if err != nil {
		return
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d.mu.Lock()
	defer d.mu.Unlock()
	for range 3 {
		for m, err := range s.CallStreaming(ctx, "list-sas", "list-sa", nil) {
			if err != nil {
				break
			}
			for _, ike := range m.Keys() {
				sa, ok := m.Get(ike).(*vici.Message)
				if !ok || sa.Get("state") != "ESTABLISHED" {
					continue
				}
				up, _ := vici.MarshalMessage(map[string]any{"up": "yes"})
				_ = up.Set(ike, sa)
				childEvent(d.installed, "child-updown", up)
			}
		}
	}
}

// ours reports whether pid is a charon started with this daemon's
// configuration: a recycled pid is never signalled.
func (d *daemon) ours() bool {
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", d.pid))
	if err != nil {
		return false
	}
	want := "STRONGSWAN_CONF=" + filepath.Join(d.dir, "strongswan.conf")
	for _, kv := range bytes.Split(env, []byte{0}) {
		if string(kv) == want {
			return true
		}
	}
	return false
}

// connect opens the vici session and follows charon's log for failures.
func (d *daemon) connect(log *slog.Logger) error {
	s, err := vici.NewSession(vici.WithSocketPath(d.socket()))
	if err != nil {
		return err
	}
	ev, err := vici.NewSession(vici.WithSocketPath(d.socket()))
	if err != nil {
		s.Close()
		return err
	}
	sa, err := vici.NewSession(vici.WithSocketPath(d.socket()))
	if err != nil {
		s.Close()
		ev.Close()
		return err
	}
	d.sess, d.evSess, d.saSess = s, ev, sa
	if err := errors.Join(ev.Subscribe("log"), sa.Subscribe("child-updown", "child-rekey")); err != nil {
		d.closeSessions()
		return err
	}
	d.events, d.updowns = make(chan vici.Event, 256), make(chan vici.Event, 1024)
	ev.NotifyEvents(d.events)
	sa.NotifyEvents(d.updowns)
	go d.follow(log)
	go d.followSAs()
	return nil
}

// follow records the last failure charon logs per connection. Log lines
// never carry a pre-shared key (charon does not log them).
func (d *daemon) follow(log *slog.Logger) {
	for ev := range d.events {
		if ev.Message == nil {
			continue
		}

		name, _ := ev.Message.Get("ikesa-name").(string)
		msg, _ := ev.Message.Get("msg").(string)
		if name == "" {
			continue
		}
		if r := failure(msg); r != "" {
			d.mu.Lock()
			d.reasons[name] = r
			d.mu.Unlock()
			log.Debug("ipsec connection failure", "router", d.routerID, "connection", name, "reason", r)
		}
	}
}

// followSAs keeps the installed CHILD_SAs of each connection.
func (d *daemon) followSAs() {
	for ev := range d.updowns {
		if ev.Message != nil {
			d.mu.Lock()
			childEvent(d.installed, ev.Name, ev.Message)
			d.mu.Unlock()
		}
	}
}

func (d *daemon) clearReason(conn string) {
	d.mu.Lock()
	delete(d.reasons, conn)
	d.mu.Unlock()
}

// alive reports whether the process still runs.
func (d *daemon) alive() bool {
	if d.exited != nil {
		select {
		case <-d.exited:
			return false
		default:
			return true
		}
	}
	return d.pid > 0 && syscall.Kill(d.pid, 0) == nil && d.ours()
}

// stop ends the daemon (SIGTERM, so that charon removes its routes and TUN
// device, then SIGKILL after 5 s) and removes its directory.
func (d *daemon) stop(log *slog.Logger) {
	d.closeSessions()
	if d.pid > 0 && d.alive() {
		_ = syscall.Kill(d.pid, syscall.SIGTERM)
		deadline := time.Now().Add(5 * time.Second)
		for d.alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if d.alive() {
			log.Warn("charon ignored SIGTERM; killing it", "router", d.routerID, "pid", d.pid)
			_ = syscall.Kill(d.pid, syscall.SIGKILL)
			if d.exited != nil {
				<-d.exited
			}
		}
	}
	_ = os.RemoveAll(d.dir)
}

// conns returns the names of the connections charon holds.
func (d *daemon) conns(ctx context.Context) ([]string, error) {
	m, err := d.sess.Call(ctx, "get-conns", nil)
	if err != nil {
		return nil, err
	}
	names, _ := m.Get("conns").([]string)
	return names, nil
}

// call runs a vici command and turns a failure reply into an error.
func (d *daemon) call(ctx context.Context, cmd string, in *vici.Message) error {
	m, err := d.sess.Call(ctx, cmd, in)
	if err != nil {
		return fmt.Errorf("vici %s: %w", cmd, err)
	}
	return m.Err()
}

// load loads c's key and connection, replacing an older version: its SAs
// are closed and it is unloaded first, so that the change (a new key, other CIDRs) takes
// effect now and no other connection of the router is touched.
func (d *daemon) load(ctx context.Context, c *connSpec, encap, replace bool) error {
	if replace {
		// charon keeps a connection loaded again with an equal
		// configuration (a change of key alone) and runs no start action
		// for it: unloading it first makes it new, so that a
		// bi-directional one initiates again.
		d.terminate(ctx, c.ID)
		m, _ := vici.MarshalMessage(map[string]any{"name": c.ID})
		if err := d.call(ctx, "unload-conn", m); err != nil {
			return fmt.Errorf("connection %s: %w", c.ID, err)
		}
	}
	shared, err := viciShared(c)
	if err != nil {
		return err
	}
	if err := d.call(ctx, "load-shared", shared); err != nil {
		// The message holds the key: name the connection only.
		return fmt.Errorf("connection %s: loading its pre-shared key: %w", c.ID, err)
	}
	conn, err := viciConn(c, encap)
	if err != nil {
		return err
	}
	if err := d.call(ctx, "load-conn", conn); err != nil {
		return fmt.Errorf("connection %s: %w", c.ID, err)
	}
	d.clearReason(c.ID)
	return nil
}

// unload closes a connection's SAs and removes it and its key.
func (d *daemon) unload(ctx context.Context, name string) error {
	d.terminate(ctx, name)
	m, _ := vici.MarshalMessage(map[string]any{"name": name})
	err := d.call(ctx, "unload-conn", m)
	k, _ := vici.MarshalMessage(map[string]any{"id": name})
	if kerr := d.call(ctx, "unload-shared", k); kerr != nil && !strings.Contains(kerr.Error(), "not found") {
		err = errors.Join(err, kerr)
	}
	d.clearReason(name)
	if err != nil {
		return fmt.Errorf("connection %s: %w", name, err)
	}
	return nil
}

// terminate closes the IKE SAs of a connection (and their children),
// waiting at most 2 s for the peer to acknowledge. No SA is no error.
func (d *daemon) terminate(ctx context.Context, name string) {
	m, _ := vici.MarshalMessage(map[string]any{"ike": name, "timeout": "2000"})
	_, _ = d.sess.Call(ctx, "terminate", m)
}

// status maps the connections to ACTIVE (an installed CHILD_SA, as the
// daemon's events told) or DOWN, with the last failure charon logged.
func (d *daemon) status(conns []string) map[string]ConnStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]ConnStatus, len(conns))
	for _, c := range conns {
		if len(d.installed[c]) > 0 {
			out[c] = ConnStatus{Status: StatusActive}
		} else {
			out[c] = ConnStatus{Status: StatusDown, Reason: d.reasons[c]}
		}
	}
	return out
}

// closeSessions closes the vici sessions; closing an event session closes
// its channel, which ends the goroutine following it.
func (d *daemon) closeSessions() {
	for _, s := range []**vici.Session{&d.sess, &d.evSess, &d.saSess} {
		if *s != nil {
			(*s).Close()
			*s = nil
		}
	}
}
