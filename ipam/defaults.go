package ipam

import (
	"net/netip"
)

// UsableRange is the part of cidr that Neutron's generate_pools starts from,
// before it takes the gateway out:
//
//   - IPv4 up to /30: the network and broadcast addresses are excluded;
//   - IPv4 /31: both addresses (RFC 3021 point-to-point links have no broadcast);
//   - IPv6: the network address (the subnet-router anycast address, RFC 4291
//     2.6.1) is excluded, the last address is not (IPv6 has no broadcast);
//   - a single-address subnet (/32, /128) keeps its one address.
//
// ValidatePools uses the same bounds, so every pool DefaultPools returns is
// valid. (Neutron's validate_allocation_pools is narrower for /31: it refuses
// pools that its own generate_pools produces.) An invalid cidr gives the zero
// Range.
func UsableRange(cidr netip.Prefix) Range {
	if !cidr.IsValid() {
		return Range{}
	}
	cidr = cidr.Masked()
	first := cidr.Addr()
	last := u128From(first).or(hostMask(first.BitLen() - cidr.Bits())).addr(first)
	switch {
	case first == last:
		return Range{first, last}
	case first.Is4() && cidr.Bits() == 31:
		return Range{first, last}
	case first.Is4():
		return Range{first.Next(), last.Prev()}
	default:
		return Range{first.Next(), last}
	}
}

// DefaultGateway is the gateway Neutron gives a subnet whose gateway_ip is not
// specified (_gateway_ip_str):
//
//   - IPv4: the first host, network+1 (10.0.0.1 for 10.0.0.0/24; on a /31 the
//     second of its two addresses);
//   - IPv6: the network address itself, the subnet-router anycast address
//     (2001:db8:: for 2001:db8::/64), as Neutron does since 2019, so that no
//     host address is set aside for the router;
//   - a single-address subnet (/32, /128): no gateway, the zero Addr. This is
//     our deviation: Neutron would name network+1, outside an IPv4 /32, or the
//     subnet's only address for an IPv6 /128, and neither can route anything.
//
// Subnets carved from a subnet pool use DefaultPoolGateway instead.
func DefaultGateway(cidr netip.Prefix) netip.Addr {
	if !cidr.IsValid() || cidr.IsSingleIP() {
		return netip.Addr{}
	}
	network := cidr.Masked().Addr()
	if network.Is4() {
		return network.Next()
	}
	return network
}

// DefaultPoolGateway is the gateway Neutron gives a subnet allocated from a
// subnet pool without an explicit gateway (SubnetAllocator._allocate_any_subnet):
// network+1 in both families. Single-address subnets get none, as in
// DefaultGateway.
func DefaultPoolGateway(cidr netip.Prefix) netip.Addr {
	if !cidr.IsValid() || cidr.IsSingleIP() {
		return netip.Addr{}
	}
	return cidr.Masked().Addr().Next()
}

// DefaultPools is Neutron's generate_pools: UsableRange(cidr) with the gateway
// taken out, which splits the range in two when the gateway falls inside it.
// A single-address subnet keeps its address whatever the gateway. The zero
// gateway means "no gateway"; a gateway outside the range changes nothing.
// An invalid cidr has no pools.
//
//	10.0.0.0/24, 10.0.0.1     → [10.0.0.2-10.0.0.254]
//	10.0.0.0/24, 10.0.0.100   → [10.0.0.1-10.0.0.99 10.0.0.101-10.0.0.254]
//	2001:db8::/64, 2001:db8:: → [2001:db8::1-2001:db8::ffff:ffff:ffff:ffff]
func DefaultPools(cidr netip.Prefix, gateway netip.Addr) []Range {
	u, gateway := UsableRange(cidr), gateway.WithZone("")
	switch {
	case !u.valid():
		return nil
	case cidr.IsSingleIP() || !u.Contains(gateway):
		return []Range{u}
	}
	var pools []Range
	if u.Start != gateway {
		pools = append(pools, Range{u.Start, gateway.Prev()})
	}
	if u.End != gateway {
		pools = append(pools, Range{gateway.Next(), u.End})
	}
	return pools
}
