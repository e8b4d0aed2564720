package loadbalancer

import (
	"bytes"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

// observed is the load balancer's namespace as read back: its links, the
// IPv4 addresses of the VIP device, our routes and forwarding.
type observed struct {
	links   map[string]netlink.Link
	addrs   []netip.Prefix
	routes  []netlink.Route
	forward bool
}

// observe reads the namespace once; a nil handle (a namespace a Plan would
// create) reads as empty.
func observe(h *namespace.Handle, s *spec) (*observed, error) {
	o := &observed{links: map[string]netlink.Link{}}
	if h == nil {
		return o, nil
	}
	links, err := nl.Dump(h.Netlink().LinkList)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		o.links[l.Attrs().Name] = l
	}
	if dev := o.links[s.Dev]; dev != nil {
		addrs, err := nl.Dump(func() ([]netlink.Addr, error) { return h.Netlink().AddrList(dev, netlink.FAMILY_V4) })
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			ip, _ := netip.AddrFromSlice(a.IP.To4())
			bits, _ := a.Mask.Size()
			o.addrs = append(o.addrs, netip.PrefixFrom(ip, bits))
		}
	}
	routes, err := nl.Dump(func() ([]netlink.Route, error) {
		return h.Netlink().RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, err
	}
	for _, rt := range routes {
		if rt.Protocol == nl.RouteProtocol {
			o.routes = append(o.routes, rt)
		}
	}
	v, err := h.ReadSysctl("net.ipv4.ip_forward")
	if err != nil {
		return nil, err
	}
	o.forward = v == "1"
	return o, nil
}

// change is one planned kernel mutation.
type change struct {
	verb, kind, what string
	do               func() error
}

func isUp(l netlink.Link) bool { return l.Attrs().Flags&net.FlagUp != 0 }

// planPlumbing plans loopback, the VIP port's veth pair, the VIP address,
// the default route and forwarding. h is nil when planning a namespace that
// does not exist yet.
func (r *Realizer) planPlumbing(s *spec, o *observed, hostLinks map[string]netlink.Link, h *namespace.Handle, dry bool) ([]change, error) {
	var cs []change
	ns := func() *netlink.Handle { return h.Netlink() }
	if lo, ok := o.links["lo"]; !ok || !isUp(lo) {
		cs = append(cs, change{"update", "link", "lo up", func() error {
			lo, err := ns().LinkByName("lo")
			if err == nil {
				err = ns().LinkSetUp(lo)
			}
			return nl.Err(err)
		}})
	}
	alias := naming.OwnerAlias(OwnerKind, s.PortID)
	br, ok := hostLinks[s.Bridge]
	switch {
	case !ok && dry:
		// The network realizer, which runs first, makes the bridge.
		br = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: s.Bridge}}
	case !ok || br.Type() != "bridge":
		return nil, errdefs.NotFound("vip_port_id", "bridge %s of VIP port %s's network is missing from the host (the network realizer creates it)", s.Bridge, s.PortID)
	default:
		kind, id, ok := naming.ParseOwner(br.Attrs().Alias)
		if !ok || kind != network.KindBridge || naming.Bridge(id) != s.Bridge {
			return nil, errdefs.Conflict("vip_port_id", "bridge %s exists and is not ours (alias %q)", s.Bridge, br.Attrs().Alias)
		}
	}
	tap, dev := hostLinks[s.Tap], o.links[s.Dev]
	if tap != nil && tap.Attrs().Alias != alias {
		return nil, errdefs.Conflict("vip_port_id", "host device %s exists and is not ours (alias %q)", s.Tap, tap.Attrs().Alias)
	}
	if dev != nil && dev.Attrs().Alias != alias {
		return nil, errdefs.Conflict("vip_port_id", "device %s exists in %s and is not ours (alias %q)", s.Dev, s.Namespace, dev.Attrs().Alias)
	}
	fresh := tap == nil || dev == nil || dev.Type() != "veth" || dev.Attrs().ParentIndex != tap.Attrs().Index
	if fresh {
		if tap != nil {
			cs = append(cs, change{"delete", "link", s.Tap + " (unpaired)", func() error {
				return nl.IgnoreNotFound(r.host.Netlink().LinkDel(tap))
			}})
		}
		if dev != nil {
			cs = append(cs, change{"delete", "link", s.Dev + " (unpaired)", func() error {
				return nl.IgnoreNotFound(ns().LinkDel(dev))
			}})
		}
		brIndex := br.Attrs().Index
		cs = append(cs, change{"create", "link", s.Tap + "/" + s.Dev, func() error {
			_, err := nl.PlugVeth(r.host.Netlink(), ns(), nl.Veth{
				Host: s.Tap, Bridge: brIndex, MTU: s.MTU,
				Peer: s.Dev, PeerMAC: s.MAC, PeerNS: h.Fd(), PeerUp: true,
				Owner: Owner, Alias: alias,
			})
			return err
		}})
	} else {
		cs = append(cs, r.planLinkUpdates(s, tap, dev, br, ns)...)
	}
	// Address: exactly the VIP on the VIP device.
	haveVIP := false
	for _, p := range o.addrs {
		if p == s.VIP && !fresh {
			haveVIP = true
			continue
		}
		if fresh {
			continue
		}
		p := p
		cs = append(cs, change{"delete", "addr", p.String() + " on " + s.Dev, func() error {
			dev, err := ns().LinkByName(s.Dev)
			if err == nil {
				err = ns().AddrDel(dev, toAddr(p))
			}
			return nl.IgnoreNotFound(err)
		}})
	}
	if !haveVIP {
		cs = append(cs, change{"create", "addr", s.VIP.String() + " on " + s.Dev, func() error {
			dev, err := ns().LinkByName(s.Dev)
			if err == nil {
				err = ns().AddrAdd(dev, toAddr(s.VIP))
			}
			return nl.Err(err)
		}})
	}
	cs = append(cs, planRoute(s, o, fresh, ns)...)
	if !o.forward {
		cs = append(cs, change{"update", "sysctl", "net.ipv4.ip_forward=1", func() error {
			return h.Sysctl("net.ipv4.ip_forward", "1")
		}})
	}
	return cs, nil
}

func (r *Realizer) planLinkUpdates(s *spec, tap, dev, br netlink.Link, ns func() *netlink.Handle) []change {
	var cs []change
	host := r.host.Netlink()
	if tap.Attrs().MasterIndex != br.Attrs().Index {
		cs = append(cs, change{"update", "link", s.Tap + " master " + s.Bridge, func() error {
			return nl.Err(host.LinkSetMasterByIndex(tap, br.Attrs().Index))
		}})
	}
	if s.MTU > 0 && tap.Attrs().MTU != s.MTU {
		cs = append(cs, change{"update", "link", s.Tap + " mtu", func() error { return nl.Err(host.LinkSetMTU(tap, s.MTU)) }})
	}
	if s.MTU > 0 && dev.Attrs().MTU != s.MTU {
		cs = append(cs, change{"update", "link", s.Dev + " mtu", func() error { return nl.Err(ns().LinkSetMTU(dev, s.MTU)) }})
	}
	if !isUp(tap) {
		cs = append(cs, change{"update", "link", s.Tap + " up", func() error { return nl.Err(host.LinkSetUp(tap)) }})
	}
	if !bytes.Equal(dev.Attrs().HardwareAddr, s.MAC) {
		cs = append(cs, change{"update", "link", s.Dev + " address " + s.MAC.String(), func() error {
			return nl.Err(ns().LinkSetHardwareAddr(dev, s.MAC))
		}})
	}
	if !isUp(dev) {
		cs = append(cs, change{"update", "link", s.Dev + " up", func() error { return nl.Err(ns().LinkSetUp(dev)) }})
	}
	return cs
}

// planRoute keeps one route of ours: the default route via the VIP
// subnet's gateway, which lets replies reach clients beyond the subnet
// (a floating IP's clients, through the router).
func planRoute(s *spec, o *observed, fresh bool, ns func() *netlink.Handle) []change {
	var cs []change
	want := s.Gateway.IsValid() && s.VIP.Contains(s.Gateway)
	have := false
	for _, rt := range o.routes {
		gw, _ := netip.AddrFromSlice(rt.Gw.To4())
		if want && !fresh && isDefault(rt.Dst) && gw == s.Gateway && rt.LinkIndex == o.links[s.Dev].Attrs().Index {
			have = true
			continue
		}
		if fresh {
			continue // on the device being replaced: gone with it
		}
		rt := rt
		cs = append(cs, change{"delete", "route", routeName(rt), func() error { return nl.IgnoreNotFound(ns().RouteDel(&rt)) }})
	}
	if want && !have {
		cs = append(cs, change{"create", "route", "default via " + s.Gateway.String(), func() error {
			dev, err := ns().LinkByName(s.Dev)
			if err != nil {
				return nl.Err(err)
			}
			return nl.Err(ns().RouteReplace(&netlink.Route{LinkIndex: dev.Attrs().Index, Gw: s.Gateway.AsSlice(),
				Protocol: nl.RouteProtocol, Table: unix.RT_TABLE_MAIN}))
		}})
	}
	return cs
}

func isDefault(dst *net.IPNet) bool {
	if dst == nil {
		return true
	}
	ones, _ := dst.Mask.Size()
	return ones == 0
}

func routeName(rt netlink.Route) string {
	dst := "default"
	if rt.Dst != nil {
		dst = rt.Dst.String()
	}
	return dst + " via " + rt.Gw.String()
}

func toAddr(p netip.Prefix) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
}

// sameNamespace reports whether h is still the namespace mounted at path:
// one deleted or replaced by hand is noticed and reopened.
func sameNamespace(h *namespace.Handle, path string) bool {
	var a, b unix.Stat_t
	if unix.Stat(path, &a) != nil || unix.Fstat(h.Fd(), &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}
