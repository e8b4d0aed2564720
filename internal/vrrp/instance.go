package vrrp

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Received is one advertisement as a Conn delivers it.
type Received struct {
	Src    netip.Addr
	Packet Packet
}

// Conn carries advertisements on one HA interface. Receive blocks until an
// advertisement that passed the RFC 5798 §7.1 checks arrives, returning an
// error wrapping net.ErrClosed once Close was called; other errors (a bad
// packet) are counted and skipped by the Instance.
type Conn interface {
	Send(Packet) error
	Receive() (Received, error)
	Close() error
}

// OnChange is called on every transition, on the Instance's goroutine and
// before the next advertisement is handled: a new master's addresses go up
// before it is asked to advertise again, a new backup's go down before it
// can take over again.
type OnChange func(from, to State)

// Instance runs one Machine against a Conn.
type Instance struct {
	cfg      Config
	conn     Conn
	log      *slog.Logger
	onChange OnChange

	state    atomic.Uint32
	dropped  atomic.Uint64
	received atomic.Uint64
	sent     atomic.Uint64
}

// NewInstance checks cfg and returns an instance that Run starts.
func NewInstance(cfg Config, conn Conn, log *slog.Logger, onChange OnChange) (*Instance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if onChange == nil {
		onChange = func(State, State) {}
	}
	return &Instance{cfg: cfg, conn: conn, log: log.With("vrid", cfg.VRID), onChange: onChange}, nil
}

// State is the current state, safe from any goroutine.
func (i *Instance) State() State { return State(i.state.Load()) }

// Dropped counts received packets that failed the checks.
func (i *Instance) Dropped() uint64 { return i.dropped.Load() }

// Received counts advertisements that passed the checks (any VRID).
func (i *Instance) Received() uint64 { return i.received.Load() }

// Sent counts advertisements sent.
func (i *Instance) Sent() uint64 { return i.sent.Load() }

// Run runs the protocol until ctx ends, then shuts down (a master sends
// priority 0 so a backup takes over within its skew time), calls OnChange
// for the move to Initialize and closes the Conn.
func (i *Instance) Run(ctx context.Context) error {
	m, err := NewMachine(i.cfg)
	if err != nil {
		return err
	}
	recv := make(chan Received)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			r, err := i.conn.Receive()
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			if err != nil {
				i.dropped.Add(1)
				i.log.Debug("vrrp packet dropped", "err", err)
				continue
			}
			i.received.Add(1)
			select {
			case recv <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	defer i.conn.Close()

	i.act(m, m.Start(time.Now()))
	timer := time.NewTimer(time.Until(m.Deadline()))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			i.act(m, m.Shutdown())
			return nil
		case r := <-recv:
			i.act(m, m.Receive(time.Now(), r.Src, r.Packet))
		case <-timer.C:
			i.act(m, m.Tick(time.Now()))
		}
		// Re-arm on the (possibly moved) deadline. Go 1.23 timers drop a
		// stale fire on Reset.
		timer.Reset(time.Until(m.Deadline()))
	}
}

func (i *Instance) act(m *Machine, a Actions) {
	if a.Send {
		if err := i.conn.Send(m.Advertisement(a.SendPriority)); err != nil {
			// A lost advertisement is what VRRP tolerates by design: the
			// next interval sends again.
			i.log.Warn("vrrp advertisement not sent", "err", err)
		} else {
			i.sent.Add(1)
		}
	}
	if a.Changed {
		i.state.Store(uint32(a.To))
		i.log.Info("vrrp transition", "from", a.From, "to", a.To)
		i.onChange(a.From, a.To)
	}
}
