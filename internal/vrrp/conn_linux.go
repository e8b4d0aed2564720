package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/namespace"
)

// RawConn is a raw IP protocol 112 socket on one interface, opened inside
// a namespace (a socket belongs to the namespace it was created in, so the
// goroutine using it need not be in it).
type RawConn struct {
	f       *os.File
	rc      syscall.RawConn
	ifindex int
	src     netip.Addr
	buf     []byte
	closed  atomic.Bool
}

var _ Conn = (*RawConn)(nil)

// Listen opens the socket on dev inside ns, joined to 224.0.0.18 there,
// sending from src (dev's address on the HA network, the advertisements'
// source and tie-breaker). The socket receives only advertisements for
// vrid: every raw socket of the protocol gets every packet, so without a
// filter n routers on one HA network would each parse all n routers'
// advertisements.
func Listen(ns *namespace.Handle, dev string, src netip.Addr, vrid uint8) (*RawConn, error) {
	if !src.Is4() {
		return nil, fmt.Errorf("vrrp listen on %s: source %s must be IPv4", dev, src)
	}
	var c *RawConn
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, Protocol)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		if err := setup(fd, ifi, vrid); err != nil {
			unix.Close(fd)
			return err
		}
		f := os.NewFile(uintptr(fd), "vrrp-"+dev)
		rc, err := f.SyscallConn()
		if err != nil {
			f.Close()
			return err
		}
		c = &RawConn{f: f, rc: rc, ifindex: ifi.Index, src: src, buf: make([]byte, 1500)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("vrrp listen on %s in %s: %w", dev, ns.Name(), err)
	}
	return c, nil
}

func setup(fd int, ifi *net.Interface, vrid uint8) error {
	mreq := &unix.IPMreqn{Multiaddr: Group.As4(), Ifindex: int32(ifi.Index)}
	filter, err := vridFilter(vrid)
	if err != nil {
		return err
	}
	for _, o := range []struct {
		name string
		set  func() error
	}{
		{"SO_ATTACH_FILTER", func() error {
			return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]})
		}},
		{"SO_BINDTODEVICE", func() error { return unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name) }},
		// RFC 5798 §5.1.1.3: sent with TTL 255, received only with 255.
		{"IP_MULTICAST_TTL", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_TTL, 255) }},
		{"IP_MULTICAST_LOOP", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_LOOP, 0) }},
		{"IP_MULTICAST_IF", func() error { return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_MULTICAST_IF, mreq) }},
		{"IP_ADD_MEMBERSHIP", func() error { return unix.SetsockoptIPMreqn(fd, unix.IPPROTO_IP, unix.IP_ADD_MEMBERSHIP, mreq) }},
		// Advertisements are a priority class of their own on the wire.
		{"IP_TOS", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, 0xc0) }},
	} {
		if err := o.set(); err != nil {
			return fmt.Errorf("%s: %w", o.name, err)
		}
	}
	return nil
}

// Send sends p to 224.0.0.18 from the source address given to Listen.
func (c *RawConn) Send(p Packet) error {
	b, err := p.Marshal(c.src, Group)
	if err != nil {
		return err
	}
	// IP_PKTINFO pins the source the checksum was computed over, whatever
	// the kernel would pick as the interface's primary address.
	oob := unix.PktInfo4(&unix.Inet4Pktinfo{Ifindex: int32(c.ifindex), Spec_dst: c.src.As4()})
	to := &unix.SockaddrInet4{Addr: Group.As4()}
	var serr error
	err = c.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), b, oob, to, 0)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return fmt.Errorf("vrrp send: %w", err)
	}
	if serr != nil {
		return fmt.Errorf("vrrp send: %w", serr)
	}
	return nil
}

// Errors Receive wraps for packets that fail RFC 5798 §7.1's checks.
var (
	ErrTTL  = errors.New("vrrp: TTL is not 255")
	ErrDest = errors.New("vrrp: not sent to 224.0.0.18")
)

// Receive returns the next advertisement. It skips nothing silently: a
// packet that fails a check is returned as an error for the caller to
// count.
func (c *RawConn) Receive() (Received, error) {
	var n int
	var rerr error
	err := c.rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), c.buf, 0)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		// A closed file reports poll's "use of closed file", which is
		// neither net.ErrClosed nor os.ErrClosed.
		if c.closed.Load() {
			return Received{}, fmt.Errorf("vrrp receive: %w", net.ErrClosed)
		}
		return Received{}, fmt.Errorf("vrrp receive: %w", err)
	}
	if rerr != nil {
		return Received{}, fmt.Errorf("vrrp receive: %w", rerr)
	}
	return parseIPv4(c.buf[:n])
}

// parseIPv4 takes apart the IPv4 packet a raw socket delivers, header
// included.
func parseIPv4(b []byte) (Received, error) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return Received{}, fmt.Errorf("%w: not an IPv4 packet", ErrShort)
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || total < ihl || len(b) < total {
		return Received{}, fmt.Errorf("%w: IPv4 header length %d, total %d, have %d", ErrShort, ihl, total, len(b))
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	if b[8] != 255 {
		return Received{}, fmt.Errorf("%w: %d from %s", ErrTTL, b[8], src)
	}
	if dst != Group {
		return Received{}, fmt.Errorf("%w: %s from %s", ErrDest, dst, src)
	}
	p, err := Parse(b[ihl:total], src, dst)
	if err != nil {
		return Received{}, fmt.Errorf("from %s: %w", src, err)
	}
	return Received{Src: src, Packet: p}, nil
}

// Close closes the socket, ending a blocked Receive.
func (c *RawConn) Close() error {
	c.closed.Store(true)
	return c.f.Close()
}

// vridFilter is a classic BPF program for a raw IPv4 socket (data starts at
// the IP header) keeping packets whose VRRP VRID byte is vrid.
func vridFilter(vrid uint8) ([]unix.SockFilter, error) {
	raw, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadMemShift{Off: 0},          // X = IP header length
		bpf.LoadIndirect{Off: 1, Size: 1}, // A = byte X+1: the VRID
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(vrid), SkipFalse: 1},
		bpf.RetConstant{Val: 0xffff},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		return nil, fmt.Errorf("vrid filter: %w", err)
	}
	out := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		out[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return out, nil
}
