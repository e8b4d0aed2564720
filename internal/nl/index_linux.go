package nl

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Index is the ifindex of each device of a namespace by name, as a plan's
// executor knows them: read from the observed dump, updated as the plan
// creates and deletes devices. Plans name devices; netlink wants indexes.
type Index map[string]int

// Link names a device by index for netlink calls, failing with ENODEV
// (ErrNotFound) for a device that is not there: a creation earlier in the
// plan failed, say.
func (x Index) Link(name string) (netlink.Link, error) {
	i, ok := x[name]
	if !ok {
		return nil, fmt.Errorf("device %s: %w", name, Err(unix.ENODEV))
	}
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: i, Name: name}}, nil
}

// With runs fn on the device name, mapping its kernel error (Err).
func (x Index) With(name string, fn func(netlink.Link) error) error {
	l, err := x.Link(name)
	if err != nil {
		return err
	}
	return Err(fn(l))
}
