package ipam

import (
	"encoding/binary"
	"math/big"
	"math/bits"
	"net/netip"
)

// u128 is an address or an address count as one unsigned 128-bit number, so
// IPv4 and IPv6 share the arithmetic and a /64 never needs math/big on a hot path.
type u128 struct{ hi, lo uint64 }

// u128From reads an address as a number in its own family: 10.0.0.1 is 0x0a000001.
func u128From(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// addr turns the number back into an address of the family of like.
func (u u128) addr(like netip.Addr) netip.Addr {
	if like.Is4() {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(u.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	return netip.AddrFrom16(b)
}

func (u u128) cmp(v u128) int {
	switch {
	case u.hi < v.hi:
		return -1
	case u.hi > v.hi:
		return 1
	case u.lo < v.lo:
		return -1
	case u.lo > v.lo:
		return 1
	}
	return 0
}

func (u u128) isZero() bool { return u.hi == 0 && u.lo == 0 }

// add returns u+v and whether it overflowed 128 bits.
func (u u128) add(v u128) (u128, bool) {
	lo, c := bits.Add64(u.lo, v.lo, 0)
	hi, c := bits.Add64(u.hi, v.hi, c)
	return u128{hi, lo}, c != 0
}

// sub returns u-v; callers guarantee u >= v.
func (u u128) sub(v u128) u128 {
	lo, b := bits.Sub64(u.lo, v.lo, 0)
	hi, _ := bits.Sub64(u.hi, v.hi, b)
	return u128{hi, lo}
}

func (u u128) inc() (u128, bool) { return u.add(u128{lo: 1}) }

func (u u128) or(v u128) u128 { return u128{u.hi | v.hi, u.lo | v.lo} }

func (u u128) shl(n uint) u128 {
	switch {
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{hi: u.lo << (n - 64)}
	case n == 0:
		return u
	}
	return u128{u.hi<<n | u.lo>>(64-n), u.lo << n}
}

func (u u128) shr(n uint) u128 {
	switch {
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{lo: u.hi >> (n - 64)}
	case n == 0:
		return u
	}
	return u128{u.hi >> n, u.lo>>n | u.hi<<(64-n)}
}

// bitLen is the number of bits needed to write u (0 for zero).
func (u u128) bitLen() int {
	if u.hi != 0 {
		return 64 + bits.Len64(u.hi)
	}
	return bits.Len64(u.lo)
}

// hostMask has the low n bits set.
func hostMask(n int) u128 {
	if n >= 128 {
		return u128{^uint64(0), ^uint64(0)}
	}
	return u128{lo: 1}.shl(uint(n)).sub(u128{lo: 1})
}

func (u u128) big() *big.Int {
	var b big.Int
	b.SetUint64(u.hi)
	b.Lsh(&b, 64)
	return b.Or(&b, new(big.Int).SetUint64(u.lo))
}

// trailingZeros is the alignment of u: 128 for zero.
func (u u128) trailingZeros() int {
	switch {
	case u.lo != 0:
		return bits.TrailingZeros64(u.lo)
	case u.hi != 0:
		return 64 + bits.TrailingZeros64(u.hi)
	}
	return 128
}
