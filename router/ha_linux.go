package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/vrrp"
	"github.com/neutrino-net/neutrino/namespace"
)

// HAMember runs VRRP for one HA router in its namespace and moves the
// router's addresses and routes itself on every transition, without a
// round trip to the agent: keepalived's virtual_ipaddress and
// virtual_routes, done in-process. NAT rules are the same on every member
// (they name addresses, not states), so a takeover is an address move plus
// gratuitous ARP / unsolicited NA.
type HAMember struct {
	cfg  HAConfig
	ns   *namespace.Handle
	log  *slog.Logger
	inst *vrrp.Instance
	bg   *background

	cancel context.CancelFunc
	done   chan struct{}
	err    error

	mu      sync.Mutex
	moveErr error
}

// StartHA starts the member on cfg.HADev inside ns. The device must exist
// and hold cfg.HAAddr.
func StartHA(ns *namespace.Handle, cfg HAConfig, log *slog.Logger) (*HAMember, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("router", cfg.RouterID, "vrid", cfg.VRID)
	vcfg := vrrp.Config{
		VRID: cfg.VRID, Priority: cfg.Priority, Interval: cfg.Interval, Preempt: cfg.Preempt,
		Local: cfg.HAAddr, Addrs: []netip.Addr{HAPrimaryVIP(cfg.VRID).Addr()},
	}
	conn, err := vrrp.Listen(ns, cfg.HADev, cfg.HAAddr, cfg.VRID)
	if err != nil {
		return nil, fmt.Errorf("router %s: %w", cfg.RouterID, err)
	}
	m := &HAMember{cfg: cfg, ns: ns, log: log, done: make(chan struct{}),
		bg: newBackground(DefaultGARPCount, DefaultGARPInterval, log)}
	m.inst, err = vrrp.NewInstance(vcfg, conn, log, m.transition)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("router %s: %w", cfg.RouterID, err)
	}
	// A member starts as backup: whatever a previous run left (a crash
	// while master) goes until VRRP says otherwise.
	if err := m.release(); err != nil {
		conn.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		m.err = m.inst.Run(ctx)
	}()
	return m, nil
}

// State is the member's ha_state.
func (m *HAMember) State() HAState { return haStateOf(m.inst.State()) }

func haStateOf(s vrrp.State) HAState {
	switch s {
	case vrrp.Master:
		return HAActive
	case vrrp.Backup:
		return HAStandby
	}
	return HAUnknown
}

// Err reports the last failure to move addresses on a transition.
func (m *HAMember) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.moveErr
}

// Stop shuts the member down as RFC 5798 asks (a master sends priority 0,
// so a backup takes over within its skew time) and releases the addresses.
func (m *HAMember) Stop() error {
	m.cancel()
	<-m.done
	m.bg.stop()
	return m.err
}

func (m *HAMember) transition(from, to vrrp.State) {
	var err error
	if to == vrrp.Master {
		err = m.hold()
	} else if from == vrrp.Master {
		err = m.release()
	}
	if err != nil {
		m.log.Error("ha transition incomplete", "from", from, "to", to, "err", err)
	}
	m.mu.Lock()
	m.moveErr = err
	m.mu.Unlock()
	if m.cfg.OnChange != nil {
		m.cfg.OnChange(haStateOf(to))
	}
}

func (m *HAMember) vips() []HAVIP {
	return append([]HAVIP{{Dev: m.cfg.HADev, Prefix: HAPrimaryVIP(m.cfg.VRID)}}, m.cfg.VIPs...)
}

// hold adds the addresses, then the routes (whose next hops need the
// connected routes of the addresses), then announces the addresses.
func (m *HAMember) hold() error {
	h := m.ns.Netlink()
	var errs []error
	announce := map[string][]netip.Addr{}
	for _, v := range m.vips() {
		link, err := h.LinkByName(v.Dev)
		if err == nil {
			err = nl.Err(h.AddrReplace(link, nl.Addr(v.Prefix)))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("add %s on %s: %w", v.Prefix, v.Dev, err))
			continue
		}
		if v.Dev != m.cfg.HADev {
			announce[v.Dev] = append(announce[v.Dev], v.Prefix.Addr())
		}
	}
	for _, r := range m.cfg.Routes {
		rt, err := m.nlRoute(r)
		if err == nil {
			err = nl.Err(h.RouteReplace(rt))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("route %s: %w", r.Dst, err))
		}
	}
	for dev, addrs := range announce {
		var v4, v6 []netip.Addr
		for _, a := range addrs {
			if a.Is4() {
				v4 = append(v4, a)
			} else {
				v6 = append(v6, a)
			}
		}
		if len(v4) > 0 {
			errs = append(errs, m.bg.announce(m.ns, dev, v4))
		}
		if len(v6) > 0 {
			errs = append(errs, m.bg.advertiseNA(m.ns, dev, v6))
		}
	}
	return errors.Join(errs...)
}

// release removes the routes and addresses; absent ones are fine.
func (m *HAMember) release() error {
	h := m.ns.Netlink()
	var errs []error
	for _, r := range m.cfg.Routes {
		rt, err := m.nlRoute(r)
		if err == nil {
			err = nl.IgnoreNotFound(h.RouteDel(rt))
		}
		if err != nil && !errors.Is(err, unix.ESRCH) && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("route %s: %w", r.Dst, err))
		}
	}
	for _, v := range m.vips() {
		link, err := h.LinkByName(v.Dev)
		if err != nil {
			continue // the device is gone, and its addresses with it
		}
		if err := nl.IgnoreNotFound(h.AddrDel(link, nl.Addr(v.Prefix))); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			errs = append(errs, fmt.Errorf("remove %s on %s: %w", v.Prefix, v.Dev, err))
		}
	}
	return errors.Join(errs...)
}

func (m *HAMember) nlRoute(r HARoute) (*netlink.Route, error) {
	// keepalived's protocol, not the realizer's: the realizer removes
	// routes of its own protocol that it did not plan, and must leave the
	// master's alone.
	rt := &netlink.Route{Dst: ipNet(r.Dst), Protocol: unix.RTPROT_KEEPALIVED, Table: unix.RT_TABLE_MAIN}
	switch len(r.Via) {
	case 0:
		rt.Scope = netlink.SCOPE_LINK
	case 1:
		rt.Gw = r.Via[0].AsSlice()
	default:
		for _, v := range r.Via {
			rt.MultiPath = append(rt.MultiPath, &netlink.NexthopInfo{Gw: v.AsSlice()})
		}
	}
	if r.Dev != "" {
		link, err := m.ns.Netlink().LinkByName(r.Dev)
		if err != nil {
			return nil, err
		}
		rt.LinkIndex = link.Attrs().Index
	}
	return rt, nil
}
