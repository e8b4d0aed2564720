package nl

import (
	"fmt"

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
