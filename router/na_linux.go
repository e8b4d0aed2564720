package router

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/ndp"

	"github.com/neutrino-net/neutrino/internal/ra"
	"github.com/neutrino-net/neutrino/namespace"
)

// allNodes is where unsolicited neighbour advertisements go.
var allNodes = netip.MustParseAddr("ff02::1")

// advertiseNA is gratuitous ARP's IPv6 counterpart (RFC 4861 §7.2.6): for
// each address that appeared on dev, an unsolicited neighbour advertisement
// with the override flag, so neighbours that cached the address at another
// MAC (a gateway address or floating IP that moved) update at once instead
// of after their reachability timeout. Rounds as for gratuitous ARP
// (WithGARP); the socket is opened inside the namespace and the rounds run
// in the background.
func (a *background) advertiseNA(ns *namespace.Handle, dev string, addrs []netip.Addr) error {
	if a.count == 0 || len(addrs) == 0 || a.ctx.Err() != nil {
		return nil
	}
	var (
		c   *ra.RawConn
		mac net.HardwareAddr
	)
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		c, err = ra.Listen(dev)
		return err
	})
	if err != nil {
		return fmt.Errorf("icmpv6 socket on %s: %w", dev, err)
	}
	msgs := make([][]byte, len(addrs))
	for i, ip := range addrs {
		msgs[i], err = ndp.MarshalMessage(&ndp.NeighborAdvertisement{
			Router: true, Override: true, TargetAddress: ip,
			Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
		})
		if err != nil {
			_ = c.Close()
			return err
		}
	}
	a.run(func() {
		defer c.Close()
		for round := range a.count {
			if round > 0 {
				t := time.NewTimer(a.interval)
				select {
				case <-a.ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
			for i, ip := range addrs {
				// The target is the source, as the kernel's own
				// unsolicited advertisements do.
				if err := c.WriteTo(a.ctx, msgs[i], ip, allNodes); err != nil {
					a.log.Debug("neighbour advertisement stopped", "device", dev, "err", err)
					return
				}
			}
		}
	})
	return nil
}
