package port

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/nl"
)

// createVLAN makes a sub-port's VLAN sub-interface of the parent's device,
// owned (alias) and with the sub-port's MAC and MTU. Kernels without 802.1Q
// (CONFIG_VLAN_8021Q) refuse it: the error says so.
func (e *executor) createVLAN(w subWant) error {
	parent, err := e.index.Link(w.parent)
	if err != nil {
		return err
	}
	mac, err := net.ParseMAC(w.mac)
	if err != nil {
		return err
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.ParentIndex, attrs.MTU, attrs.HardwareAddr = w.dev, parent.Attrs().Index, w.mtu, mac
	l := &netlink.Vlan{LinkAttrs: attrs, VlanId: w.vid, VlanProtocol: netlink.VLAN_PROTOCOL_8021Q}
	if err := nl.CreateOwned(e.h, l, Owner, w.alias); err != nil {
		return fmt.Errorf("802.1Q VLAN device %s on %s (needs CONFIG_VLAN_8021Q): %w", w.dev, w.parent, err)
	}
	e.index[w.dev] = l.Attrs().Index
	return nil
}
