package bgp

import (
	"errors"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestBadOptionValuesFailConstruction(t *testing.T) {
	for name, o := range map[string]ServerOption{
		"event_buffer":             WithEventBuffer(0),
		"connect_retry":            WithConnectRetry(0),
		"graceful_restart_time":    WithGracefulRestart(0),
		"graceful_restart_time>":   WithGracefulRestart(MaxRestartTime + time.Second),
		"graceful_restart_time.5s": WithGracefulRestart(1500 * time.Millisecond),
	} {
		if _, err := NewServer(o); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("NewServer(%s): %v, want ErrInvalid (not a clamp)", name, err)
		}
		if err := CheckServerOptions(o); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("CheckServerOptions(%s): %v, want ErrInvalid", name, err)
		}
	}
	if err := CheckServerOptions(WithGracefulRestart(MaxRestartTime), WithConnectRetry(time.Second)); err != nil {
		t.Errorf("good server options: %v", err)
	}
	for name, o := range map[string]Option{
		"listen_port":      WithListenPort(0),
		"listen_addresses": WithListenPort(179, netip.Addr{}),
	} {
		if _, err := NewRealizer(&Server{}, o); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("NewRealizer(%s): %v, want ErrInvalid", name, err)
		}
	}
	if _, err := NewRealizer(nil); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("NewRealizer(nil): %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	r, err := NewRealizer(&Server{}, WithListenPort(1179), WithPassive(), WithLogger(log))
	if err != nil || r.cfg.listenPort != 1179 || !r.cfg.passive || r.cfg.log != log || r.Close() != nil {
		t.Errorf("good options: %v %+v", err, r)
	}
}
