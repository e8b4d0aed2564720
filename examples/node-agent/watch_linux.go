package main

import (
	"context"
	"log/slog"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/namespace"
)

// watchKernel subscribes to link, address, route and neighbour changes and
// to nftables changes in the node's namespace, and sends triggerKernel on
// any of them. The agent's own Apply causes events too; the run loop drains
// them after each Apply, and a resync that finds nothing to do ends the echo.
func watchKernel(ctx context.Context, host *namespace.Handle, log *slog.Logger, out chan<- trigger) {
	ns := host.NsHandle()
	done := ctx.Done()
	onErr := func(err error) { log.Debug("netlink subscription", "err", err) }

	links := make(chan netlink.LinkUpdate, 64)
	addrs := make(chan netlink.AddrUpdate, 64)
	routes := make(chan netlink.RouteUpdate, 64)
	neighs := make(chan netlink.NeighUpdate, 64)
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{Namespace: &ns, ErrorCallback: onErr}); err != nil {
		log.Warn("no link notifications; relying on the resync interval", "err", err)
	}
	if err := netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{Namespace: &ns, ErrorCallback: onErr}); err != nil {
		log.Warn("no address notifications", "err", err)
	}
	if err := netlink.RouteSubscribeWithOptions(routes, done, netlink.RouteSubscribeOptions{Namespace: &ns, ErrorCallback: onErr}); err != nil {
		log.Warn("no route notifications", "err", err)
	}
	if err := netlink.NeighSubscribeWithOptions(neighs, done, netlink.NeighSubscribeOptions{Namespace: &ns, ErrorCallback: onErr}); err != nil {
		log.Warn("no neighbour notifications", "err", err)
	}
	var nftEvents chan *nftables.MonitorEvent
	if c, err := nftables.New(nftables.WithNetNSFd(host.Fd())); err == nil {
		mon := nftables.NewMonitor(nftables.WithMonitorObject(nftables.MonitorObjectTables | nftables.MonitorObjectChains | nftables.MonitorObjectRules | nftables.MonitorObjectSets | nftables.MonitorObjectElements))
		if ch, err := c.AddMonitor(mon); err == nil {
			nftEvents = ch
			defer mon.Close()
		} else {
			log.Warn("no nftables notifications", "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-links:
			if !ok {
				links = nil
				continue
			}
		case _, ok := <-addrs:
			if !ok {
				addrs = nil
				continue
			}
		case _, ok := <-routes:
			if !ok {
				routes = nil
				continue
			}
		case _, ok := <-neighs:
			if !ok {
				neighs = nil
				continue
			}
		case _, ok := <-nftEvents:
			if !ok {
				nftEvents = nil
				continue
			}
		}
		send(out, triggerKernel)
	}
}
