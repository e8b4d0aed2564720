package port

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/nodestate"
	"github.com/neutrino-net/neutrino/namespace"
)

// addrGenModeNone keeps host ends free of IPv6 link-local addresses, so a new
// port sends no neighbour discovery or MLD into a bridge full of others (the
// flood trap of PITFALLS.md). Instance ends are the instance's business.
const addrGenModeNone = 1

// observe reads the host with one link dump and, for each veth port, probes
// its instance namespace: the end paired with the host end, the device
// holding the instance-side name, and (with configure_ips) its addresses
// and our default routes. Each instance namespace is opened once.
func (r *Realizer) observe(ctx context.Context, w *want) (*observed, error) {
	links, err := nodestate.Links(ctx, r.host) // the agent pass's shared dump, if any
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	o := &observed{host: make(map[string]*hostDev, len(links)), inst: map[string]*instView{}}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		a := l.Attrs()
		d := &hostDev{Name: a.Name, Kind: l.Type(), Alias: a.Alias, Index: a.Index, MTU: a.MTU,
			Up: a.Flags&net.FlagUp != 0, Master: names[a.MasterIndex], PeerNetNS: -1}
		switch v := l.(type) {
		case *netlink.Veth:
			d.PeerIndex, d.PeerNetNS = a.ParentIndex, a.NetNsID
		case *netlink.Tuntap:
			d.TapMode, d.MultiQueue = v.Mode == netlink.TUNTAP_MODE_TAP, v.Flags&netlink.TUNTAP_MULTI_QUEUE != 0
		case *netlink.Vlan:
			d.VlanID, d.ParentIndex = v.VlanId, a.ParentIndex
		}
		d.MAC = a.HardwareAddr.String()
		o.host[a.Name] = d
	}
	ns := &instances{host: r.host, open: map[string]*namespace.Handle{}, errs: map[string]error{}, ids: map[string]int{}}
	o.closer = ns.close
	for _, pw := range w.ports {
		if pw.veth() {
			o.inst[pw.id] = ns.view(pw, o.host[pw.tap])
		}
	}
	o.handles = ns.open
	return o, nil
}

// instances opens each instance namespace of an Apply once. They are not
// ours: they are opened, read and written, never created or deleted.
type instances struct {
	host *namespace.Handle
	open map[string]*namespace.Handle
	errs map[string]error
	ids  map[string]int
}

func (s *instances) get(path string) (*namespace.Handle, int, error) {
	if h, ok := s.open[path]; ok {
		return h, s.ids[path], nil
	}
	if err, ok := s.errs[path]; ok {
		return nil, -1, err
	}
	h, err := namespace.OpenPath(path)
	if err != nil {
		s.errs[path] = err
		return nil, -1, err
	}
	id, err := s.host.Netlink().GetNetNsIdByFd(h.Fd())
	if err != nil {
		id = -1 // the host holds no id for it: no veth of the host leads there
	}
	s.open[path], s.ids[path] = h, id
	return h, id, nil
}

func (s *instances) close() {
	for _, h := range s.open {
		_ = h.Close()
	}
}

func (s *instances) view(w portWant, host *hostDev) *instView {
	ih, id, err := s.get(w.netns)
	if err != nil {
		return &instView{err: err}
	}
	v := &instView{nsid: id}
	nlh := ih.Netlink()
	if host != nil && host.Kind == "veth" && host.PeerIndex > 0 {
		l, err := nlh.LinkByIndex(host.PeerIndex)
		if err != nil && !nl.IsNotFound(err) {
			return &instView{err: nl.Err(err)}
		}
		// It is the peer only if it points back at the host end from the
		// namespace the host end points to; otherwise it is some other device
		// that happens to hold that index.
		if l != nil && l.Attrs().ParentIndex == host.Index && id >= 0 && host.PeerNetNS == id {
			v.peer = toInstDev(l)
		}
	}
	if v.peer != nil && v.peer.Name == w.ifname {
		v.named = v.peer
	} else {
		l, err := nlh.LinkByName(w.ifname)
		if err != nil && !nl.IsNotFound(err) {
			return &instView{err: nl.Err(err)}
		}
		if l != nil {
			v.named = toInstDev(l)
		}
	}
	if w.configure && v.peer != nil {
		if err := v.readAddresses(nlh); err != nil {
			return &instView{err: err}
		}
	}
	return v
}

func toInstDev(l netlink.Link) *instDev {
	a := l.Attrs()
	return &instDev{Index: a.Index, Name: a.Name, Kind: l.Type(), MAC: a.HardwareAddr.String(), MTU: a.MTU,
		Up: a.Flags&net.FlagUp != 0, PeerIndex: a.ParentIndex}
}

// readAddresses reads the peer's static global addresses and the default
// routes through it that carry our protocol.
func (v *instView) readAddresses(h *netlink.Handle) error {
	link := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: v.peer.Index}}
	addrs, err := nl.Dump(func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if a.Scope != unix.RT_SCOPE_UNIVERSE || a.Flags&unix.IFA_F_PERMANENT == 0 {
			continue // link-local, or autoconfigured: not ours to manage
		}
		ip, _ := netip.AddrFromSlice(a.IP)
		bits, _ := a.Mask.Size()
		v.addrs = append(v.addrs, netip.PrefixFrom(ip.Unmap(), bits))
	}
	routes, err := nl.Dump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{LinkIndex: v.peer.Index, Protocol: nl.RouteProtocol},
			netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL)
	})
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for _, rt := range routes {
		if ones, _ := maskOf(rt.Dst); ones == 0 && rt.Gw != nil {
			gw, _ := netip.AddrFromSlice(rt.Gw)
			v.routes = append(v.routes, gw.Unmap())
		}
	}
	return nil
}

func maskOf(n *net.IPNet) (int, int) {
	if n == nil {
		return 0, 0
	}
	return n.Mask.Size()
}

func (r *Realizer) executor(o *observed) *executor {
	index := make(map[string]int, len(o.host))
	for name, d := range o.host {
		index[name] = d.Index
	}
	return &executor{host: r.host, h: r.host.Netlink(), index: index, inst: o.handles, peers: map[string]netlink.Link{}}
}

type executor struct {
	host  *namespace.Handle
	h     *netlink.Handle
	index nl.Index
	inst  map[string]*namespace.Handle // instance namespaces by path
	peers map[string]netlink.Link      // instance ends by netns path + " " + name
}

// peer returns the instance end of w and its namespace's netlink handle.
func (e *executor) peer(w portWant) (*netlink.Handle, netlink.Link, error) {
	ih := e.inst[w.netns]
	if ih == nil {
		return nil, nil, fmt.Errorf("instance namespace %s is not open", w.netns)
	}
	key := w.netns + " " + w.ifname
	if l, ok := e.peers[key]; ok {
		return ih.Netlink(), l, nil
	}
	l, err := ih.Netlink().LinkByName(w.ifname)
	if err != nil {
		return nil, nil, fmt.Errorf("%s in %s: %w", w.ifname, w.netns, nl.Err(err))
	}
	e.peers[key] = l
	return ih.Netlink(), l, nil
}

func (e *executor) do(o op) error {
	switch o := o.(type) {
	case opVeth:
		return e.createVeth(o.w)
	case opTap:
		return e.createTap(o.w)
	case opVLAN:
		return e.createVLAN(o.w)
	case opDel:
		l, err := e.index.Link(o.name)
		if err != nil {
			return err
		}
		if err := nl.IgnoreNotFound(e.h.LinkDel(l)); err != nil {
			return err
		}
		delete(e.index, o.name)
		return nil
	case opMTU:
		return e.index.With(o.name, func(l netlink.Link) error { return e.h.LinkSetMTU(l, o.mtu) })
	case opMaster:
		return e.index.With(o.name, func(l netlink.Link) error {
			m, err := e.index.Link(o.master)
			if err != nil {
				return err
			}
			return e.h.LinkSetMasterByIndex(l, m.Attrs().Index)
		})
	case opUp:
		return e.index.With(o.name, func(l netlink.Link) error {
			if o.up {
				return e.h.LinkSetUp(l)
			}
			return e.h.LinkSetDown(l)
		})
	case opPeerRename:
		return e.renamePeer(o.w, o.from)
	case opPeerMAC:
		return e.onPeer(o.w, func(h *netlink.Handle, l netlink.Link) error {
			mac, err := net.ParseMAC(o.w.mac)
			if err != nil {
				return err
			}
			return h.LinkSetHardwareAddr(l, mac)
		})
	case opPeerMTU:
		return e.onPeer(o.w, func(h *netlink.Handle, l netlink.Link) error { return h.LinkSetMTU(l, o.w.mtu) })
	case opPeerUp:
		return e.onPeer(o.w, func(h *netlink.Handle, l netlink.Link) error { return h.LinkSetUp(l) })
	case opAddr:
		return e.onPeer(o.w, func(h *netlink.Handle, l netlink.Link) error {
			a := nl.Addr(o.a) // IPv6 without DAD: the address is the port's, no one else may hold it
			if !o.add {
				return nl.IgnoreNotFound(h.AddrDel(l, a))
			}
			return h.AddrReplace(l, a)
		})
	case opRoute:
		return e.onPeer(o.w, func(h *netlink.Handle, l netlink.Link) error {
			rt := &netlink.Route{LinkIndex: l.Attrs().Index, Gw: o.gw.AsSlice(), Protocol: nl.RouteProtocol}
			if !o.add {
				return nl.IgnoreNotFound(h.RouteDel(rt))
			}
			return h.RouteReplace(rt)
		})
	}
	return fmt.Errorf("unknown operation %T", o)
}

func (e *executor) onPeer(w portWant, fn func(*netlink.Handle, netlink.Link) error) error {
	h, l, err := e.peer(w)
	if err != nil {
		return err
	}
	return nl.Err(fn(h, l))
}

// renamePeer gives the instance end its name back; the kernel renames only
// devices that are down.
func (e *executor) renamePeer(w portWant, from string) error {
	ih := e.inst[w.netns]
	if ih == nil {
		return fmt.Errorf("instance namespace %s is not open", w.netns)
	}
	h := ih.Netlink()
	l, err := h.LinkByName(from)
	if err == nil {
		err = h.LinkSetDown(l)
	}
	if err == nil {
		err = h.LinkSetName(l, w.ifname)
	}
	if err == nil {
		err = h.LinkSetUp(l)
	}
	return nl.Err(err)
}

// createVeth makes the pair in one request, the instance end already in its
// namespace with its name, MAC and MTU.
func (e *executor) createVeth(w portWant) error {
	ih := e.inst[w.netns]
	if ih == nil {
		return fmt.Errorf("instance namespace %s is not open", w.netns)
	}
	mac, err := net.ParseMAC(w.mac)
	if err != nil {
		return err
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = w.tap, w.mtu
	veth := netlink.NewVeth(attrs)
	veth.PeerName, veth.PeerHardwareAddr, veth.PeerNamespace, veth.PeerMTU = w.ifname, mac, netlink.NsFd(ih.Fd()), uint32(w.mtu)
	if err := nl.CreateOwned(e.h, veth, Owner, w.alias); err != nil {
		return err
	}
	delete(e.peers, w.netns+" "+w.ifname)
	return e.adopt(veth, w)
}

// createTap makes a persistent single-queue tap for a hypervisor to open.
// TUNSETIFF creates the device in the caller's namespace, so it runs inside
// the host's.
func (e *executor) createTap(w portWant) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = w.tap
	tap := &netlink.Tuntap{LinkAttrs: attrs, Mode: netlink.TUNTAP_MODE_TAP, Flags: netlink.TUNTAP_NO_PI | netlink.TUNTAP_TUN_EXCL}
	add := func(l netlink.Link) error { return e.host.Do(func() error { return e.h.LinkAdd(l) }) }
	if err := nl.CreateOwnedWith(e.h, tap, Owner, w.alias, add); err != nil {
		return err
	}
	return e.adopt(tap, w)
}

// adopt takes a device just created (and labelled) for w: quiets IPv6 on
// it, gives it the MTU and puts it in the bridge.
func (e *executor) adopt(l netlink.Link, w portWant) error {
	e.index[w.tap] = l.Attrs().Index
	if err := e.h.LinkSetIP6AddrGenMode(l, addrGenModeNone); err != nil {
		return nl.Err(err)
	}
	// A tap is born with 1500 bytes; give it the network's MTU before it
	// joins the bridge, which would otherwise adjust its own to it.
	if l.Attrs().MTU != w.mtu {
		if err := e.h.LinkSetMTU(l, w.mtu); err != nil {
			return nl.Err(err)
		}
	}
	br, err := e.index.Link(w.bridge)
	if err != nil {
		return err
	}
	return nl.Err(e.h.LinkSetMasterByIndex(l, br.Attrs().Index))
}
