package nl

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// IPNet converts p for netlink; the zero Prefix gives nil (no destination:
// a default route).
func IPNet(p netip.Prefix) *net.IPNet {
	if !p.IsValid() {
		return nil
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Prefix converts a netlink address or destination back; nil or a
// malformed one gives the zero Prefix. IPv4-mapped addresses are unmapped.
func Prefix(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.Prefix{}
	}
	a, ok := netip.AddrFromSlice(n.IP)
	ones, bits := n.Mask.Size()
	if !ok || bits == 0 {
		return netip.Prefix{}
	}
	a = a.Unmap()
	if a.Is4() && bits == 128 {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones)
}

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
