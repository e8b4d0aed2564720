package router

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/arp"

	"github.com/neutrino-net/neutrino/namespace"
)

var (
	broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	zeroMAC      = net.HardwareAddr{0, 0, 0, 0, 0, 0}
)

// background runs what a pass starts but does not wait for, for as long as
// the realizer lives: gratuitous ARP bursts, which take seconds, and
// conntrack cleanups, which walk the kernel's conntrack hash (shared by all
// namespaces: milliseconds however few flows the router has).
type background struct {
	count    int
	interval time.Duration
	log      *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBackground(count int, interval time.Duration, log *slog.Logger) *background {
	ctx, cancel := context.WithCancel(context.Background())
	return &background{count: count, interval: interval, log: log, ctx: ctx, cancel: cancel}
}

func (a *background) wait() { a.wg.Wait() }

func (a *background) stop() {
	a.cancel()
	a.wg.Wait()
}

// run runs fn on its own goroutine unless the realizer is closed.
func (a *background) run(fn func()) {
	if a.ctx.Err() != nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		fn()
	}()
}

// announce opens an ARP socket on dev inside ns (AF_PACKET sockets belong
// to the namespace they are created in; once open, any goroutine may use
// it) and sends the burst from a goroutine, so Apply does not wait for it.
func (a *background) announce(ns *namespace.Handle, dev string, addrs []netip.Addr) error {
	if a.count == 0 || len(addrs) == 0 || a.ctx.Err() != nil {
		return nil
	}
	var c *arp.Client
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		c, err = arp.Dial(ifi)
		return err
	})
	if err != nil {
		return fmt.Errorf("arp socket on %s: %w", dev, err)
	}
	a.run(func() {
		defer c.Close()
		if err := a.burst(c, addrs); err != nil {
			// The device or address went away meanwhile: nothing to announce.
			a.log.Debug("gratuitous ARP stopped", "device", dev, "err", err)
		}
	})
	return nil
}

// burst sends count rounds, interval apart, of an ARP request and an ARP
// reply for each address, both broadcast: some hosts honour only one of the
// two kinds (Neutron sends both for that reason).
func (a *background) burst(c *arp.Client, addrs []netip.Addr) error {
	mac := c.HardwareAddr()
	for i := range a.count {
		if i > 0 {
			t := time.NewTimer(a.interval)
			select {
			case <-a.ctx.Done():
				t.Stop()
				return a.ctx.Err()
			case <-t.C:
			}
		}
		for _, ip := range addrs {
			req, err := arp.NewPacket(arp.OperationRequest, mac, ip, zeroMAC, ip)
			if err != nil {
				return err
			}
			if err := c.WriteTo(req, broadcastMAC); err != nil {
				return err
			}
			rep, err := arp.NewPacket(arp.OperationReply, mac, ip, broadcastMAC, ip)
			if err != nil {
				return err
			}
			if err := c.WriteTo(rep, broadcastMAC); err != nil {
				return err
			}
		}
	}
	return nil
}

// announce plans a burst for every device that gained addresses (or a
// floating IP that moved), sent once the rest of the pass has succeeded:
// gratuitous ARP for IPv4, unsolicited neighbour advertisements for IPv6
// (na_linux.go).
func (rr *routerRun) announce() []change {
	if rr.r.opt.garpCount == 0 {
		return nil
	}
	var cs []change
	for _, dev := range sortedKeys(rr.garp) {
		var v4, v6 []netip.Addr
		for _, a := range rr.garp[dev] {
			if a.Is4() {
				v4 = append(v4, a)
			} else {
				v6 = append(v6, a)
			}
		}
		if len(v4) > 0 {
			cs = append(cs, change{create, "garp", len(v4), rr.in(dev + " " + joinAddrs(v4)), func() error {
				return rr.r.bg.announce(rr.ns, dev, v4)
			}})
		}
		if len(v6) > 0 {
			cs = append(cs, change{create, "na", len(v6), rr.in(dev + " " + joinAddrs(v6)), func() error {
				return rr.r.bg.advertiseNA(rr.ns, dev, v6)
			}})
		}
	}
	return cs
}

func joinAddrs(addrs []netip.Addr) string {
	names := make([]string, len(addrs))
	for i, a := range addrs {
		names[i] = a.String()
	}
	return strings.Join(names, ", ")
}
