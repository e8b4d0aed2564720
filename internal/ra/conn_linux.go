package ra

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/mdlayher/socket"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/namespace"
)

// highFD is where sockets are moved: the nftables library panics on
// descriptors of 1024 and above (google/nftables#352), so a node with
// thousands of advertising interfaces keeps the low numbers free for it
// (the router realizer does the same with its files).
const highFD = 4096

// RawConn is a raw ICMPv6 socket bound to one interface that receives only
// router solicitations.
type RawConn struct {
	c     *socket.Conn
	index int
}

// Listen opens a RawConn on the interface named ifname. A raw socket
// belongs to the network namespace it is created in, so call Listen inside
// the interface's namespace (namespace.Handle.Do); once open, it may be
// used from any goroutine. The socket joins ff02::2 (all routers) on the
// interface and sends with hop limit 255.
func Listen(ifname string) (*RawConn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, highFD); err == nil {
		_ = unix.Close(fd)
		fd = nfd
	}
	if err := setup(fd, ifi); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("icmpv6 socket on %s: %w", ifname, err)
	}
	c, err := socket.New(fd, "ra")
	if err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return &RawConn{c: c, index: ifi.Index}, nil
}

func setup(fd int, ifi *net.Interface) error {
	var f unix.ICMPv6Filter
	for i := range f.Data {
		f.Data[i] = ^uint32(0) // a set bit blocks the type
	}
	rs := uint32(ipv6.ICMPTypeRouterSolicitation)
	f.Data[rs>>5] &^= 1 << (rs & 31)
	join := &unix.IPv6Mreq{Multiaddr: allRouters.As16(), Interface: uint32(ifi.Index)}
	for _, step := range []struct {
		name string
		err  error
	}{
		{"SO_BINDTODEVICE", unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)},
		{"ICMP6_FILTER", unix.SetsockoptICMPv6Filter(fd, unix.IPPROTO_ICMPV6, unix.ICMPV6_FILTER, &f)},
		{"IPV6_RECVHOPLIMIT", unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1)},
		{"IPV6_UNICAST_HOPS", unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, HopLimit)},
		{"IPV6_MULTICAST_HOPS", unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, HopLimit)},
		{"IPV6_MULTICAST_LOOP", unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0)},
		{"IPV6_MULTICAST_IF", unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifi.Index)},
		{"IPV6_JOIN_GROUP ff02::2", unix.SetsockoptIPv6Mreq(fd, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, join)},
	} {
		if step.err != nil {
			return fmt.Errorf("%s: %w", step.name, step.err)
		}
	}
	return nil
}

// ReadFrom implements Conn.
func (r *RawConn) ReadFrom(ctx context.Context, b []byte) (n, hopLimit int, src netip.Addr, err error) {
	oob := ipv6.NewControlMessage(ipv6.FlagHopLimit)
	n, oobn, _, sa, err := r.c.Recvmsg(ctx, b, oob, 0)
	if err != nil {
		return 0, 0, netip.Addr{}, err
	}
	var cm ipv6.ControlMessage
	if err := cm.Parse(oob[:oobn]); err != nil {
		return 0, 0, netip.Addr{}, err
	}
	if s, ok := sa.(*unix.SockaddrInet6); ok {
		src = netip.AddrFrom16(s.Addr)
	}
	return n, cm.HopLimit, src, nil
}

// WriteTo implements Conn. The source goes in IPV6_PKTINFO: the kernel
// refuses it while it is tentative (duplicate address detection running),
// rather than picking another address hosts would not accept.
func (r *RawConn) WriteTo(ctx context.Context, b []byte, src, dst netip.Addr) error {
	cm := &ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: r.index}
	to := &unix.SockaddrInet6{Addr: dst.As16(), ZoneId: uint32(r.index)}
	_, err := r.c.Sendmsg(ctx, b, cm.Marshal(), to, 0)
	return err
}

// Close implements Conn.
func (r *RawConn) Close() error { return r.c.Close() }

// NamespaceID identifies the network namespace ns refers to (its inode):
// the same for every handle on one namespace, different for a namespace
// made again under the same name. 0 for nil.
func NamespaceID(ns *namespace.Handle) uint64 {
	if ns == nil {
		return 0
	}
	var st unix.Stat_t
	if unix.Fstat(ns.Fd(), &st) != nil {
		return 0
	}
	return st.Ino
}
