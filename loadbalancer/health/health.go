package health

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Monitor types.
const (
	TypePing = "PING"
	TypeTCP  = "TCP"
	TypeHTTP = "HTTP"
)

// Operating statuses (Octavia's).
const (
	Online  = "ONLINE"
	Error   = "ERROR"
	Offline = "OFFLINE"
)

// Target is one member to check.
type Target struct {
	Key     string // the member's ID
	Addr    netip.AddrPort
	Type    string
	Delay   time.Duration
	Timeout time.Duration
	Rise    int // successes in a row that bring a member back
	Fall    int // failures in a row that take it out
	Method  string
	Path    string
	Codes   map[int]bool
}

func (t Target) same(o Target) bool {
	if t.Key != o.Key || t.Addr != o.Addr || t.Type != o.Type || t.Delay != o.Delay || t.Timeout != o.Timeout ||
		t.Rise != o.Rise || t.Fall != o.Fall || t.Method != o.Method || t.Path != o.Path || len(t.Codes) != len(o.Codes) {
		return false
	}
	for c := range t.Codes {
		if !o.Codes[c] {
			return false
		}
	}
	return true
}

// Net opens sockets where the members are (inside a namespace).
type Net interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
	Ping(ctx context.Context, addr netip.Addr) error
}

// Change reports that a member entered (Up) or left rotation.
type Change struct {
	Group, Key string
	Up         bool
}

// Checker runs the monitors of many groups (load balancers).
type Checker struct {
	log      *slog.Logger
	onChange func(Change)

	mu     sync.Mutex
	groups map[string]map[string]*probe
	wg     sync.WaitGroup
}

type probe struct {
	t      Target
	cancel context.CancelFunc

	mu      sync.Mutex
	up      bool // in rotation
	checked bool
	oks     int
	fails   int
}

// New returns a Checker that calls onChange (from its own goroutines; it
// must not block) whenever a member enters or leaves rotation.
func New(log *slog.Logger, onChange func(Change)) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{log: log, onChange: onChange, groups: map[string]map[string]*probe{}}
}

// Set makes the group's running probes match targets: new targets start
// checking, removed ones stop, unchanged ones keep their state.
func (c *Checker) Set(group string, n Net, targets []Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.groups[group]
	cur := make(map[string]*probe, len(targets))
	for _, t := range targets {
		if p := old[t.Key]; p != nil && p.t.same(t) {
			cur[t.Key] = p
			delete(old, t.Key)
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		p := &probe{t: t, cancel: cancel, up: true}
		cur[t.Key] = p
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.run(ctx, group, n, p)
		}()
	}
	for _, p := range old {
		p.cancel()
	}
	if len(cur) == 0 {
		delete(c.groups, group)
		return
	}
	c.groups[group] = cur
}

// Remove stops every probe of group.
func (c *Checker) Remove(group string) { c.Set(group, nil, nil) }

// State returns a member's status and whether it is in rotation; known is
// false for a member without a running probe.
func (c *Checker) State(group, key string) (status string, inRotation, known bool) {
	c.mu.Lock()
	p := c.groups[group][key]
	c.mu.Unlock()
	if p == nil {
		return "", false, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !p.up:
		return Error, false, true
	case !p.checked:
		return Offline, true, true
	}
	return Online, true, true
}

// Close stops every probe and waits for them.
func (c *Checker) Close() {
	c.mu.Lock()
	for g, ps := range c.groups {
		for _, p := range ps {
			p.cancel()
		}
		delete(c.groups, g)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *Checker) run(ctx context.Context, group string, n Net, p *probe) {
	tick := time.NewTicker(p.t.Delay)
	defer tick.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, p.t.Timeout)
		err := Check(cctx, n, p.t)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if changed, up := p.record(err == nil); changed {
			c.log.Info("member rotation changed", "loadbalancer", group, "member", p.t.Key, "in_rotation", up, "last_error", err)
			c.onChange(Change{Group: group, Key: p.t.Key, Up: up})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// record counts one result and reports whether rotation changed.
func (p *probe) record(ok bool) (changed, up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checked = true
	if ok {
		p.oks, p.fails = p.oks+1, 0
		if !p.up && p.oks >= p.t.Rise {
			p.up = true
			return true, true
		}
		return false, p.up
	}
	p.oks, p.fails = 0, p.fails+1
	if p.up && p.fails >= p.t.Fall {
		p.up = false
		return true, false
	}
	return false, p.up
}

// Check runs one check of t.
func Check(ctx context.Context, n Net, t Target) error {
	switch t.Type {
	case TypePing:
		return n.Ping(ctx, t.Addr.Addr())
	case TypeTCP:
		c, err := n.DialContext(ctx, "tcp", t.Addr.String())
		if err != nil {
			return err
		}
		return c.Close()
	case TypeHTTP:
		return checkHTTP(ctx, n, t)
	}
	return fmt.Errorf("monitor type %q", t.Type)
}

func checkHTTP(ctx context.Context, n Net, t Target) error {
	c, err := n.DialContext(ctx, "tcp", t.Addr.String())
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, "http://"+t.Addr.String()+t.Path, nil)
	if err != nil {
		return err
	}
	req.Close = true
	req.Header.Set("User-Agent", "neutrino-health-check")
	if err := req.Write(c); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if !t.Codes[resp.StatusCode] {
		return fmt.Errorf("status %d not expected", resp.StatusCode)
	}
	return nil
}
