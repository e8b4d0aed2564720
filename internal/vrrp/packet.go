package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Protocol is VRRP's IP protocol number.
const Protocol = 112

// Group is the IPv4 multicast group advertisements go to (RFC 5798
// §5.1.1.2), Group6 the IPv6 one (§5.1.2.2).
var (
	Group  = netip.AddrFrom4([4]byte{224, 0, 0, 18})
	Group6 = netip.MustParseAddr("ff02::12")
)

const (
	version3      = 3
	typeAdvert    = 1
	headerLen     = 8
	maxInterval   = 0x0fff // 12 bits of centiseconds: 40.95 s
	centisecond   = 10 * time.Millisecond
	maxAddrsPerV4 = 255
)

// Packet is one VRRPv3 advertisement, for IPv4 or IPv6: the family is
// that of the IP packet carrying it.
type Packet struct {
	VRID     uint8
	Priority uint8
	// Interval is the Max Advertise Interval in centiseconds (12 bits).
	Interval uint16
	// Addrs are the advertised virtual addresses, of the carrier's family.
	Addrs []netip.Addr
}

// pseudo checks that src and dst are one family and returns its address
// size.
func pseudo(src, dst netip.Addr) (int, error) {
	switch {
	case src.Is4() && dst.Is4():
		return 4, nil
	case src.Is6() && dst.Is6() && !src.Is4In6() && !dst.Is4In6():
		return 16, nil
	}
	return 0, fmt.Errorf("vrrp: pseudo-header addresses %s, %s must be one family", src, dst)
}

// Centiseconds converts d to the wire unit, rejecting what the 12-bit field
// cannot carry or what would be rounded to a different interval.
func Centiseconds(d time.Duration) (uint16, error) {
	if d <= 0 || d%centisecond != 0 || d/centisecond > maxInterval {
		return 0, fmt.Errorf("advertisement interval %s: must be a positive multiple of 10ms up to 40.95s", d)
	}
	return uint16(d / centisecond), nil
}

// Duration is the inverse of Centiseconds.
func Duration(cs uint16) time.Duration { return time.Duration(cs) * centisecond }

// Marshal encodes p with the checksum over the pseudo-header made of src
// and dst (the addresses of the IP packet that will carry it).
func (p Packet) Marshal(src, dst netip.Addr) ([]byte, error) {
	if len(p.Addrs) > maxAddrsPerV4 {
		return nil, fmt.Errorf("vrrp: %d addresses, at most %d fit", len(p.Addrs), maxAddrsPerV4)
	}
	if p.Interval == 0 || p.Interval > maxInterval {
		return nil, fmt.Errorf("vrrp: interval %d cs out of 1..%d", p.Interval, maxInterval)
	}
	size, err := pseudo(src, dst)
	if err != nil {
		return nil, err
	}
	b := make([]byte, headerLen+size*len(p.Addrs))
	b[0] = version3<<4 | typeAdvert
	b[1] = p.VRID
	b[2] = p.Priority
	b[3] = uint8(len(p.Addrs))
	binary.BigEndian.PutUint16(b[4:], p.Interval)
	for i, a := range p.Addrs {
		if a.BitLen()/8 != size || a.Is4In6() {
			return nil, fmt.Errorf("vrrp: address %s is not of the carrier's family", a)
		}
		copy(b[headerLen+size*i:], a.AsSlice())
	}
	binary.BigEndian.PutUint16(b[6:], checksum(src, dst, b))
	return b, nil
}

// Errors Parse wraps, for callers that count what they drop.
var (
	ErrShort    = errors.New("vrrp: packet too short")
	ErrVersion  = errors.New("vrrp: not a version 3 advertisement")
	ErrChecksum = errors.New("vrrp: bad checksum")
)

// Parse decodes a VRRPv3 advertisement carried in an IP packet from src to
// dst, verifying its checksum. Trailing bytes beyond the advertised
// addresses are ignored, as RFC 5798 §7.1 allows.
func Parse(b []byte, src, dst netip.Addr) (Packet, error) {
	if len(b) < headerLen {
		return Packet{}, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if b[0]>>4 != version3 || b[0]&0x0f != typeAdvert {
		return Packet{}, fmt.Errorf("%w: version %d type %d", ErrVersion, b[0]>>4, b[0]&0x0f)
	}
	size, err := pseudo(src, dst)
	if err != nil {
		return Packet{}, err
	}
	n := int(b[3])
	if len(b) < headerLen+size*n {
		return Packet{}, fmt.Errorf("%w: %d addresses need %d bytes, have %d", ErrShort, n, headerLen+size*n, len(b))
	}
	b = b[:headerLen+size*n]
	if checksum(src, dst, b) != 0 {
		return Packet{}, ErrChecksum
	}
	p := Packet{
		VRID:     b[1],
		Priority: b[2],
		Interval: binary.BigEndian.Uint16(b[4:]) & maxInterval,
		Addrs:    make([]netip.Addr, n),
	}
	for i := range n {
		p.Addrs[i], _ = netip.AddrFromSlice(b[headerLen+size*i : headerLen+size*(i+1)])
	}
	return p, nil
}

// checksum is the Internet checksum of the pseudo-header (IPv4: src, dst,
// zero, protocol, 16-bit length; IPv6: src, dst, 32-bit length, zeros,
// next header — the sums are the same) followed by msg. Over a message
// whose checksum field is filled in it yields zero.
func checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for len(b) >= 2 {
			sum += uint32(b[0])<<8 | uint32(b[1])
			b = b[2:]
		}
		if len(b) == 1 {
			sum += uint32(b[0]) << 8
		}
	}
	add(src.AsSlice())
	add(dst.AsSlice())
	sum += Protocol
	sum += uint32(len(msg))
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
