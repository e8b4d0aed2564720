package vpn

import (
	"log/slog"
	"path/filepath"
	"time"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
	"github.com/neutrino-net/neutrino/namespace"
)

// DefaultRunDir is where the realizer keeps one directory per router
// daemon: its strongswan.conf, vici socket and pid file.
const DefaultRunDir = "/run/neutrino/vpn"

// DefaultCharon is the charon binary the realizer starts: charon-systemd
// keeps no pid file in /run (the classic /usr/lib/ipsec/charon refuses to
// start while /run/charon.pid names a live process), so one runs per
// router namespace without a mount namespace of its own.
const DefaultCharon = "/usr/sbin/charon-systemd"

// Option configures a Realizer.
// A bad value makes NewRealizer fail.
type Option func(*config) error

type config struct {
	log          *slog.Logger
	prefix       string
	runDir       string
	charon       string
	userspaceESP bool
	boundToUs    bool
	startTimeout time.Duration
}

// WithLogger sets the logger (default: discard). Pre-shared keys never
// reach it.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l != nil {
			c.log = l
		}
		return nil
	}
}

// WithPrefix sets the node prefix of the router namespaces
// (<prefix>qrouter-<id>), the same as the router realizer's.
func WithPrefix(nodePrefix string) Option {
	return func(c *config) error {
		c.prefix = nodePrefix
		return namespace.CheckPrefix(nodePrefix)
	}
}

// WithRunDir sets the directory of the daemons' runtime files (default
// DefaultRunDir). It must be absolute, and the realizer's alone: it removes
// the directories of routers it no longer runs.
func WithRunDir(dir string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(dir) {
			return errdefs.Invalid("run_dir", "%q is not an absolute path", dir)
		}
		c.runDir = dir
		return nil
	}
}

// WithCharon sets the path of the charon binary (default DefaultCharon).
func WithCharon(path string) Option {
	return func(c *config) error {
		if !filepath.IsAbs(path) {
			return errdefs.Invalid("charon", "%q is not an absolute path", path)
		}
		c.charon = path
		return nil
	}
}

// WithUserspaceESP makes the daemons do ESP in user space (strongSwan's
// kernel-libipsec plugin: a TUN device, ESP in UDP) instead of installing
// XFRM states, for kernels without ESP transforms. Both ends of a
// connection must then use UDP encapsulation, which the realizer forces.
func WithUserspaceESP(on bool) Option {
	return func(c *config) error {
		c.userspaceESP = on
		return nil
	}
}

// WithDaemonsBoundToProcess makes the daemons get SIGTERM when the
// process that started them dies (Linux's parent-death signal), instead
// of outliving it to be adopted by the next run: for tests, whose binary
// may be killed before its cleanup runs, and for deployments that want
// tunnels down with the agent. The kernel sends the signal when the OS
// thread that forked dies; the realizer forks from a thread that
// namespace.Do switched, which Go keeps alive unless switching back
// failed.
func WithDaemonsBoundToProcess(on bool) Option {
	return func(c *config) error {
		c.boundToUs = on
		return nil
	}
}

// WithStartTimeout sets how long a started daemon may take to open its vici
// socket (default 10 s).
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return errdefs.Invalid("start_timeout", "%v is not a positive duration", d)
		}
		c.startTimeout = d
		return nil
	}
}

func newConfig(opts []Option) (*config, error) {
	c := &config{log: option.Discard(), runDir: DefaultRunDir, charon: DefaultCharon, startTimeout: 10 * time.Second}
	return c, option.Apply(c, opts)
}
