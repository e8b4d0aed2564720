package router

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	vnl "github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
)

// mirror is a namespace's links and addresses, kept current from the
// kernel's notifications instead of dumped on every pass: a node's host
// holds a device per port (parsing a dump of 1,000 links costs
// milliseconds), and a gateway with 10,000 floating IPs holds 10,000 /32s.
//
// The kernel queues a notification on the socket before the change that
// caused it returns, so draining the socket at the start of a pass brings
// the mirror up to every change made so far, ours and anyone's, with no
// goroutine. If the socket overflowed (ENOBUFS) notifications were lost: the
// mirror is rebuilt from dumps. Notifications queued before a dump and
// applied after it are harmless: they are applied in order, so each object
// ends in the state of its last notification, which the dump agrees with.
type mirror struct {
	fd    int // a netlink socket bound to the groups, numbered high (see highFD)
	valid bool
	links map[string]netlink.Link
	names map[int]string                // link index -> name, to follow renames
	addrs map[int]map[netip.Prefix]bool // by link index; IPv6 link-local left out
	buf   []byte
}

// mirrorSockBuf holds the notifications of a burst of changes made between
// two passes by others (ours are drained by the next pass too).
const mirrorSockBuf = 8 << 20

// newMirror subscribes, inside ns, to link notifications and, with addrs,
// to address notifications.
func newMirror(ns *namespace.Handle, addrs bool) (*mirror, error) {
	m := &mirror{fd: -1, buf: make([]byte, 1<<16)}
	groups := uint32(1) << (unix.RTNLGRP_LINK - 1)
	if addrs {
		groups |= 1<<(unix.RTNLGRP_IPV4_IFADDR-1) | 1<<(unix.RTNLGRP_IPV6_IFADDR-1)
	}
	// The socket is created inside the namespace: a netlink socket hears
	// the namespace it was made in.
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		m.fd = moveHigh(fd)
		return unix.Bind(m.fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups})
	})
	if err == nil {
		err = unix.SetsockoptInt(m.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, mirrorSockBuf)
	}
	if err != nil {
		m.close()
		return nil, fmt.Errorf("subscribe to link and address changes: %w", err)
	}
	return m, nil
}

func (m *mirror) close() {
	if m.fd >= 0 {
		_ = unix.Close(m.fd)
		m.fd = -1
	}
}

// sync brings the mirror up to date: it applies the queued notifications,
// or dumps when it has none to build on. dumpAddrs says whether addresses
// are mirrored.
func (m *mirror) sync(h *netlink.Handle, withAddrs bool) error {
	if err := m.drain(); err != nil {
		return err
	}
	if m.valid {
		return nil
	}
	links, err := dumpLinks(h)
	if err != nil {
		return err
	}
	var addrs map[int]map[netip.Prefix]bool
	if withAddrs {
		if addrs, err = dumpAddrs(h); err != nil {
			return err
		}
	}
	m.reset(links, addrs)
	return nil
}

// reset makes the mirror hold links and addrs, as a dump or a fresh
// namespace says.
func (m *mirror) reset(links map[string]netlink.Link, addrs map[int]map[netip.Prefix]bool) {
	m.links, m.addrs, m.valid = links, addrs, true
	m.names = make(map[int]string, len(links))
	for name, l := range links {
		m.names[l.Attrs().Index] = name
	}
	if m.addrs == nil {
		m.addrs = map[int]map[netip.Prefix]bool{}
	}
}

// drain applies the notifications queued on the socket.
func (m *mirror) drain() error {
	for {
		n, _, err := unix.Recvfrom(m.fd, m.buf, unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.ENOBUFS):
			m.valid = false // notifications were lost: dump again
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("read notifications: %w", err)
		}
		// Parsed links keep slices of the message (their MAC, say): parse
		// a copy, not the buffer the next read overwrites.
		msgs, err := syscall.ParseNetlinkMessage(append([]byte(nil), m.buf[:n]...))
		if err != nil {
			m.valid = false
			continue
		}
		if !m.valid {
			continue // a dump follows
		}
		for _, msg := range msgs {
			switch msg.Header.Type {
			case unix.RTM_NEWLINK, unix.RTM_DELLINK:
				m.applyLink(msg)
			case unix.RTM_NEWADDR, unix.RTM_DELADDR:
				m.applyAddr(msg)
			}
		}
	}
}

func (m *mirror) applyLink(msg syscall.NetlinkMessage) {
	if len(msg.Data) < unix.SizeofIfInfomsg {
		return
	}
	// Bridges announce their ports' STP state in AF_BRIDGE link messages on
	// the same group: partial views of the device (no alias, no MAC), and a
	// "delete" that means "left the bridge". Only AF_UNSPEC messages
	// describe devices.
	if vnl.DeserializeIfInfomsg(msg.Data).Family != unix.AF_UNSPEC {
		return
	}
	hdr := unix.NlMsghdr{Len: msg.Header.Len, Type: msg.Header.Type, Flags: msg.Header.Flags, Seq: msg.Header.Seq, Pid: msg.Header.Pid}
	l, err := netlink.LinkDeserialize(&hdr, msg.Data)
	if err != nil {
		m.valid = false
		return
	}
	idx := l.Attrs().Index
	if old, ok := m.names[idx]; ok {
		delete(m.links, old)
		delete(m.names, idx)
	}
	if msg.Header.Type == unix.RTM_DELLINK {
		delete(m.addrs, idx)
		return
	}
	m.links[l.Attrs().Name], m.names[idx] = l, l.Attrs().Name
}

func (m *mirror) applyAddr(msg syscall.NetlinkMessage) {
	if len(msg.Data) < unix.SizeofIfAddrmsg {
		return
	}
	hdr := vnl.DeserializeIfAddrmsg(msg.Data)
	attrs, err := vnl.ParseRouteAttr(msg.Data[unix.SizeofIfAddrmsg:])
	if err != nil {
		m.valid = false
		return
	}
	// IFA_LOCAL is the address of the interface; IFA_ADDRESS is the peer's
	// on point-to-point links and the same as IFA_LOCAL otherwise (IPv6
	// sends only IFA_ADDRESS).
	var ip []byte
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFA_LOCAL:
			ip = a.Value
		case unix.IFA_ADDRESS:
			if ip == nil {
				ip = a.Value
			}
		}
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return
	}
	p := netip.PrefixFrom(a.Unmap(), int(hdr.Prefixlen))
	if !p.IsValid() || p.Addr().IsLinkLocalUnicast() {
		return
	}
	idx := int(hdr.Index)
	if msg.Header.Type == unix.RTM_DELADDR {
		delete(m.addrs[idx], p)
		if len(m.addrs[idx]) == 0 {
			delete(m.addrs, idx)
		}
		return
	}
	if m.addrs[idx] == nil {
		m.addrs[idx] = map[netip.Prefix]bool{}
	}
	m.addrs[idx][p] = true
}

func dumpAddrs(h *netlink.Handle) (map[int]map[netip.Prefix]bool, error) {
	addrs, err := nl.Dump(func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, err
	}
	out := map[int]map[netip.Prefix]bool{}
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if !ok || p.Addr().IsLinkLocalUnicast() {
			continue
		}
		if out[a.LinkIndex] == nil {
			out[a.LinkIndex] = map[netip.Prefix]bool{}
		}
		out[a.LinkIndex][p] = true
	}
	return out, nil
}
