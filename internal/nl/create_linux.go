package nl

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// CreateOwned creates link in h's namespace, labelled with alias, under the
// name link.Attrs().Name, so that the name appears only with the alias: the
// device is created under a temporary name of owner (see TempName),
// labelled, then renamed. The link must be new (not up); a veth's peer keeps
// its own name. On return link.Attrs() carries the final name and the new
// index.
func CreateOwned(h *netlink.Handle, link netlink.Link, owner, alias string) error {
	return CreateOwnedWith(h, link, owner, alias, h.LinkAdd)
}

// CreateOwnedWith is CreateOwned with the create call given, for devices
// that must be created some other way (a tap is created by TUNSETIFF in the
// caller's namespace, so inside namespace.Handle.Do).
func CreateOwnedWith(h *netlink.Handle, link netlink.Link, owner, alias string, add func(netlink.Link) error) error {
	return createOwned(h, link, owner, alias, add, nil)
}

// createOwned is CreateOwnedWith that also runs beforeRename once the
// device is labelled and before it takes its final name: whatever must hold
// whenever the final name exists (a veth peer's label) is done there.
func createOwned(h *netlink.Handle, link netlink.Link, owner, alias string, add func(netlink.Link) error, beforeRename func() error) error {
	attrs := link.Attrs()
	final := attrs.Name
	attrs.Name = TempName(owner)
	attrs.Alias = ""
	if err := add(link); err != nil {
		attrs.Name = final
		return Err(fmt.Errorf("create %s: %w", final, err))
	}
	created, err := h.LinkByName(attrs.Name)
	if err == nil {
		err = h.LinkSetAlias(created, alias)
	}
	if err == nil && beforeRename != nil {
		err = beforeRename()
	}
	if err == nil {
		err = h.LinkSetName(created, final)
	}
	if err != nil {
		// Leave no temporary device behind when we still can.
		if created != nil {
			_ = h.LinkDel(created)
		}
		attrs.Name = final
		return Err(fmt.Errorf("create %s: %w", final, err))
	}
	attrs.Name, attrs.Alias, attrs.Index = final, alias, created.Attrs().Index
	return nil
}

// SweepTemp deletes the devices in links that carry a temporary name of
// owner: leftovers of a CreateOwned that a crash interrupted. It returns the
// names it deleted.
func SweepTemp(h *netlink.Handle, links []netlink.Link, owner string) ([]string, error) {
	var deleted []string
	for _, l := range links {
		if name := l.Attrs().Name; IsTemp(name, owner) {
			if err := IgnoreNotFound(h.LinkDel(l)); err != nil {
				return deleted, fmt.Errorf("sweep %s: %w", name, err)
			}
			deleted = append(deleted, name)
		}
	}
	return deleted, nil
}

// addrGenModeNone stops the kernel from giving a host-side device an IPv6
// link-local address: such devices carry no addresses, and with IPv6 on,
// each new port on a big bridge sends neighbour discovery and MLD that
// floods all the others (PITFALLS.md).
const addrGenModeNone = 1

// Veth describes a port plugged as a veth pair: the host end joins a bridge
// of the node, the other end lives in a namespace Neutrino owns (a router's
// qr-/qg- device, a DHCP port's ns- device).
type Veth struct {
	Host    string // host end, tap<port11>
	Bridge  int    // index of the bridge the host end joins
	MTU     int    // of both ends; 0 keeps the kernel's default
	Peer    string // name of the other end
	PeerMAC net.HardwareAddr
	PeerNS  int  // file descriptor of the other end's namespace
	PeerUp  bool // bring the other end up
	// Owner (the realizer's name) and Alias label both ends; see CreateOwned.
	Owner, Alias string
}

// PlugVeth creates the pair in one request with the other end already in
// its namespace, labels both ends, quiets IPv6 on the host end and brings
// it up. peer is a netlink handle in the other end's namespace. It returns
// the other end. Both ends are labelled before the host end takes its final
// name, so a crash at any point leaves either a complete pair or one under a
// temporary name, which SweepTemp removes whole.
func PlugVeth(host, peer *netlink.Handle, v Veth) (netlink.Link, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MasterIndex = v.Host, v.Bridge
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: v.Peer, PeerHardwareAddr: v.PeerMAC,
		PeerNamespace: netlink.NsFd(v.PeerNS), PeerTxQLen: -1}
	if v.MTU > 0 {
		veth.LinkAttrs.MTU, veth.PeerMTU = v.MTU, uint32(v.MTU)
	}
	var dev netlink.Link
	labelPeer := func() (err error) {
		if dev, err = peer.LinkByName(v.Peer); err == nil {
			if err = peer.LinkSetAlias(dev, v.Alias); err == nil {
				dev.Attrs().Alias = v.Alias
			}
		}
		return err
	}
	if err := createOwned(host, veth, v.Owner, v.Alias, host.LinkAdd, labelPeer); err != nil {
		return nil, err
	}
	if err := host.LinkSetIP6AddrGenMode(veth, addrGenModeNone); err != nil {
		return nil, Err(err)
	}
	if err := host.LinkSetUp(veth); err != nil {
		return nil, Err(err)
	}
	if v.PeerUp {
		if err := peer.LinkSetUp(dev); err != nil {
			return nil, Err(err)
		}
	}
	return dev, nil
}
