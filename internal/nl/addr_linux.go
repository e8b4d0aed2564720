package nl

import (
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Addr is the address p (host address and prefix length) as netlink adds
// it. IPv6 addresses skip duplicate address detection: IPAM made every
// address Neutrino configures unique, and an address in DAD holds traffic
// back (a router's, a port's, a DHCP server's).
func Addr(p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: IPNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}
