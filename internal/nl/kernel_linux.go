package nl

import (
	"errors"

	"github.com/vishvananda/netlink"
)

func isInterrupted(err error) bool { return errors.Is(err, netlink.ErrDumpInterrupted) }

// isLinkNotFound matches netlink's LinkNotFoundError, which wraps no errno.
func isLinkNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf)
}
