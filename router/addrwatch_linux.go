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

// addrMirror is a router namespace's addresses, kept current from the
// kernel's address notifications instead of dumped on every pass: a gateway
// with 10,000 floating IPs holds 10,000 /32s, and dumping them costs
// milliseconds where one floating IP change should cost microseconds.
//
// The kernel queues a notification on the socket before the change that
// caused it returns, so draining the socket at the start of a pass brings
// the mirror up to every change made so far, ours and anyone's, with no
// goroutine. If the socket overflowed (ENOBUFS) notifications were lost: the
// mirror is rebuilt from a dump. Notifications queued before a dump and
// applied after it are harmless: they are applied in order, so each address
// ends in the state of its last notification, which the dump agrees with.
type addrMirror struct {
	sock  *vnl.NetlinkSocket
	valid bool
	addrs map[int]map[netip.Prefix]bool // by link index; IPv6 link-local left out
	buf   []byte
}

// addrSockBuf holds the notifications of a burst of changes made between
// two passes by others (ours are drained by the next pass too).
const addrSockBuf = 8 << 20

func newAddrMirror(ns *namespace.Handle) (*addrMirror, error) {
	m := &addrMirror{buf: make([]byte, 1<<16)}
	err := ns.Do(func() error {
		var err error
		m.sock, err = vnl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to address changes: %w", err)
	}
	if err := m.sock.SetReceiveBufferSize(addrSockBuf, true); err != nil {
		m.sock.Close()
		return nil, fmt.Errorf("address notification buffer: %w", err)
	}
	return m, nil
}

func (m *addrMirror) close() { m.sock.Close() }

// read returns the namespace's addresses as of now.
func (m *addrMirror) read(h *netlink.Handle) (map[int]map[netip.Prefix]bool, error) {
	if err := m.drain(); err != nil {
		return nil, err
	}
	if !m.valid {
		dump, err := dumpAddrs(h)
		if err != nil {
			return nil, err
		}
		m.addrs, m.valid = dump, true
	}
	return m.addrs, nil
}

// drain applies the notifications queued on the socket.
func (m *addrMirror) drain() error {
	for {
		n, _, err := unix.Recvfrom(m.sock.GetFd(), m.buf, unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.ENOBUFS):
			m.valid = false // notifications were lost: dump again
			continue
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return fmt.Errorf("read address notifications: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(m.buf[:n])
		if err != nil {
			m.valid = false
			continue
		}
		if !m.valid {
			continue // a dump follows
		}
		for _, msg := range msgs {
			m.apply(msg)
		}
	}
}

func (m *addrMirror) apply(msg syscall.NetlinkMessage) {
	if msg.Header.Type != unix.RTM_NEWADDR && msg.Header.Type != unix.RTM_DELADDR {
		return
	}
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
