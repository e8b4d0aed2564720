package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// State is a VRRP router state (RFC 5798 §6.4).
type State uint8

const (
	Initialize State = iota
	Backup
	Master
)

func (s State) String() string {
	switch s {
	case Initialize:
		return "initialize"
	case Backup:
		return "backup"
	case Master:
		return "master"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Config is one virtual router as seen by one member. Neutron's keepalived
// settings are priority 50, advert_int 2 and nopreempt.
type Config struct {
	VRID uint8
	// Priority is 1..255; 255 claims address ownership and goes straight
	// to Master on start.
	Priority uint8
	// Interval is this member's advertisement interval, a multiple of 10ms
	// up to 40.95s.
	Interval time.Duration
	// Preempt lets a higher-priority backup take over from a live master.
	Preempt bool
	// Local is this member's primary address on the HA network: it breaks
	// ties between masters of equal priority, and is the source of the
	// advertisements.
	Local netip.Addr
	// Addrs are the addresses the advertisements carry (keepalived's
	// virtual_ipaddress; Neutron's 169.254.0.<vrid>).
	Addrs []netip.Addr
}

// Validate reports what in c cannot be advertised.
func (c Config) Validate() error {
	if c.VRID == 0 {
		return fmt.Errorf("vrrp: vrid must be 1..255")
	}
	if c.Priority == 0 {
		return fmt.Errorf("vrrp vrid %d: priority must be 1..255 (0 is the shutdown advertisement)", c.VRID)
	}
	if _, err := Centiseconds(c.Interval); err != nil {
		return fmt.Errorf("vrrp vrid %d: %w", c.VRID, err)
	}
	if !c.Local.IsValid() || c.Local.Is4In6() {
		return fmt.Errorf("vrrp vrid %d: local address %s must be IPv4 or IPv6", c.VRID, c.Local)
	}
	if len(c.Addrs) > maxAddrsPerV4 {
		return fmt.Errorf("vrrp vrid %d: %d addresses, at most %d", c.VRID, len(c.Addrs), maxAddrsPerV4)
	}
	for _, a := range c.Addrs {
		if a.BitLen() != c.Local.BitLen() || a.Is4In6() {
			return fmt.Errorf("vrrp vrid %d: address %s is not of the local address's family (%s)", c.VRID, a, c.Local)
		}
	}
	return nil
}

// Actions is what a Machine asks of its runner after an event, in order:
// send an advertisement (with SendPriority, which is 0 on shutdown), then,
// if Changed, act on the transition From → To.
type Actions struct {
	Send         bool
	SendPriority uint8
	Changed      bool
	From, To     State
}

// Machine is the RFC 5798 state machine of one member, without clock or
// sockets: every event carries the current time, and Deadline says when
// Tick must next be called (the Adver_Timer in Master, the
// Master_Down_Timer in Backup).
type Machine struct {
	cfg            Config
	interval       uint16 // own Advertisement_Interval, centiseconds
	masterInterval uint16 // Master_Adver_Interval learned in Backup
	state          State
	deadline       time.Time
}

// NewMachine returns a machine in Initialize.
func NewMachine(cfg Config) (*Machine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cs, _ := Centiseconds(cfg.Interval)
	return &Machine{cfg: cfg, interval: cs, masterInterval: cs}, nil
}

// State is the current state.
func (m *Machine) State() State { return m.state }

// Deadline is when the running timer fires; zero in Initialize.
func (m *Machine) Deadline() time.Time { return m.deadline }

// MasterDownInterval is 3 × Master_Adver_Interval + Skew_Time, the silence
// after which a backup takes over.
func (m *Machine) MasterDownInterval() time.Duration {
	return 3*Duration(m.masterInterval) + m.skew()
}

// skew is ((256 − Priority) × Master_Adver_Interval) / 256 centiseconds
// (RFC 5798 §6.1), kept in nanoseconds rather than truncated to whole
// centiseconds so that at 0.1 s adverts priorities still spread.
func (m *Machine) skew() time.Duration {
	return time.Duration(256-int(m.cfg.Priority)) * Duration(m.masterInterval) / 256
}

// Advertisement is the packet a member in this state sends with priority.
func (m *Machine) Advertisement(priority uint8) Packet {
	return Packet{VRID: m.cfg.VRID, Priority: priority, Interval: m.interval, Addrs: m.cfg.Addrs}
}

func (m *Machine) move(to State, a *Actions) {
	if m.state == to {
		return
	}
	if !a.Changed {
		a.From = m.state
	}
	a.Changed, a.To = true, to
	m.state = to
}

func (m *Machine) becomeMaster(now time.Time, a *Actions) {
	a.Send, a.SendPriority = true, m.cfg.Priority
	m.deadline = now.Add(Duration(m.interval))
	m.move(Master, a)
}

func (m *Machine) becomeBackup(now time.Time, masterInterval uint16, a *Actions) {
	m.masterInterval = masterInterval
	m.deadline = now.Add(m.MasterDownInterval())
	m.move(Backup, a)
}

// Start is the Startup event.
func (m *Machine) Start(now time.Time) Actions {
	var a Actions
	if m.state != Initialize {
		return a
	}
	if m.cfg.Priority == 255 {
		m.becomeMaster(now, &a)
	} else {
		m.becomeBackup(now, m.interval, &a)
	}
	return a
}

// Tick fires the running timer if its deadline has passed.
func (m *Machine) Tick(now time.Time) Actions {
	var a Actions
	if m.state == Initialize || now.Before(m.deadline) {
		return a
	}
	// Backup: Master_Down_Timer fired, take over. Master: Adver_Timer.
	m.becomeMaster(now, &a)
	return a
}

// Receive is an ADVERTISEMENT event from src. Advertisements for another
// VRID are ignored.
func (m *Machine) Receive(now time.Time, src netip.Addr, p Packet) Actions {
	var a Actions
	if p.VRID != m.cfg.VRID || p.Interval == 0 {
		return a
	}
	switch m.state {
	case Backup:
		switch {
		case p.Priority == 0:
			// The master is leaving: take over after the skew alone.
			m.deadline = now.Add(m.skew())
		case !m.cfg.Preempt || p.Priority >= m.cfg.Priority:
			m.becomeBackup(now, p.Interval, &a)
		}
	case Master:
		switch {
		case p.Priority == 0:
			// Another member shut down while we are master: answer at once
			// so the backups do not take over after its skew.
			a.Send, a.SendPriority = true, m.cfg.Priority
			m.deadline = now.Add(Duration(m.interval))
		case p.Priority > m.cfg.Priority || (p.Priority == m.cfg.Priority && src.Compare(m.cfg.Local) > 0):
			m.becomeBackup(now, p.Interval, &a)
		}
	}
	return a
}

// Shutdown is the Shutdown event: a master sends priority 0 so a backup
// takes over after its skew time rather than the master-down interval.
func (m *Machine) Shutdown() Actions {
	var a Actions
	if m.state == Master {
		a.Send, a.SendPriority = true, 0
	}
	m.move(Initialize, &a)
	m.deadline = time.Time{}
	return a
}
