package ipam

import (
	"net"
	"net/netip"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// SLAAC is the address an interface with MAC mac forms by stateless
// autoconfiguration in prefix (RFC 4862 with the modified EUI-64 interface
// identifier of RFC 4291 appendix A), which is what Neutron records for ports
// on slaac and dhcpv6-stateless subnets (oslo's get_ipv6_addr_by_EUI64): ff:fe
// goes into the middle of a 48-bit MAC and the universal/local bit (0x02 of
// the first octet) is flipped.
//
//	fa:16:3e:12:34:56 in 2001:db8::/64 → 2001:db8::f816:3eff:fe12:3456
//
// prefix must be an IPv6 /64, because the identifier fills the other 64 bits
// (Neutron refuses auto-address modes on any other length). An 8-byte EUI-64
// hardware address is used as it is, with the bit flipped.
func SLAAC(prefix netip.Prefix, mac net.HardwareAddr) (netip.Addr, error) {
	if !prefix.IsValid() || !prefix.Addr().Is6() || prefix.Bits() != 64 {
		return netip.Addr{}, errdefs.Invalid("cidr", "%s: SLAAC needs an IPv6 /64 (EUI-64 fills the low 64 bits)", prefix)
	}
	var id [8]byte
	switch len(mac) {
	case 6:
		id = [8]byte{mac[0], mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
	case 8:
		copy(id[:], mac)
	default:
		return netip.Addr{}, errdefs.Invalid("mac_address", "%q is neither an EUI-48 nor an EUI-64 address", mac.String())
	}
	id[0] ^= 0x02
	a := prefix.Masked().Addr().As16()
	copy(a[8:], id[:])
	return netip.AddrFrom16(a), nil
}
