package dhcp

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/namespace"
)

// nsSysctls are set in every qdhcp namespace before its device is created,
// so the device inherits them: no SLAAC addresses from router
// advertisements (Neutron sets accept_ra=0 there), and no duplicate address
// detection holding back the link-local address DHCPv6 answers from.
// Secondary addresses are promoted when a primary goes, so that replacing
// one of the DHCP port's addresses does not silently take the others of the
// same subnet with it.
var nsSysctls = [][2]string{
	{"net/ipv6/conf/default/accept_ra", "0"},
	{"net/ipv6/conf/default/accept_dad", "0"},
	{"net/ipv4/conf/all/promote_secondaries", "1"},
}

// netWork is the convergence of one network's kernel state.
type netWork struct {
	r     *Realizer
	cfg   *Config
	ns    *namespace.Handle // nil when planning a namespace that does not exist
	br    netlink.Link
	fresh bool // the device is (to be) created: its addresses and routes too
}

type observedNS struct {
	sysctl map[string]string
	links  map[string]netlink.Link
	addrs  []netip.Prefix  // on the DHCP device, IPv6 link-local excluded
	routes []netlink.Route // ours (protocol nl.RouteProtocol), both families
}

func (w *netWork) observe() (*observedNS, error) {
	o := &observedNS{sysctl: map[string]string{}, links: map[string]netlink.Link{}}
	for _, kv := range nsSysctls {
		v, err := w.ns.ReadSysctl(kv[0])
		if err != nil {
			return nil, err
		}
		o.sysctl[kv[0]] = v
	}
	h := w.ns.Netlink()
	links, err := nl.Dump(h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("list links in %s: %w", w.ns.Name(), err)
	}
	for _, l := range links {
		o.links[l.Attrs().Name] = l
	}
	if dev := o.links[w.cfg.Interface]; dev != nil {
		addrs, err := nl.Dump(func() ([]netlink.Addr, error) { return h.AddrList(dev, netlink.FAMILY_ALL) })
		if err != nil {
			return nil, fmt.Errorf("list addresses of %s: %w", w.cfg.Interface, err)
		}
		for _, a := range addrs {
			p, ok := prefixOf(a.IPNet)
			if ok && !(p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() && p.Addr() != metadataV6) {
				o.addrs = append(o.addrs, p)
			}
		}
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := nl.Dump(func() ([]netlink.Route, error) {
			return h.RouteListFiltered(fam, &netlink.Route{Protocol: nl.RouteProtocol}, netlink.RT_FILTER_PROTOCOL)
		})
		if err != nil {
			return nil, fmt.Errorf("list routes in %s: %w", w.ns.Name(), err)
		}
		o.routes = append(o.routes, rs...)
	}
	return o, nil
}

// nsInode identifies a namespace for as long as it lives.
func nsInode(h *namespace.Handle) uint64 {
	var st unix.Stat_t
	if err := unix.Fstat(h.Fd(), &st); err != nil {
		return 0
	}
	return st.Ino
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits), true
}

func (w *netWork) in(what string) string {
	if w.ns == nil {
		return what
	}
	return what + " in " + w.ns.Name()
}

func (w *netWork) sysctls(o *observedNS) []change {
	var cs []change
	for _, kv := range nsSysctls {
		if o != nil && o.sysctl[kv[0]] == kv[1] {
			continue
		}
		cs = append(cs, change{update, "sysctl", w.in(kv[0] + "=" + kv[1]), func() error {
			return w.ns.Sysctl(kv[0], kv[1])
		}})
	}
	if o == nil { // a namespace still to be created: lo is down
		cs = append(cs, change{update, "link", w.in("lo up"), nil})
	} else if lo := o.links["lo"]; lo != nil && lo.Attrs().Flags&net.FlagUp == 0 {
		cs = append(cs, change{update, "link", w.in("lo up"), func() error {
			return nl.Err(w.ns.Netlink().LinkSetUp(lo))
		}})
	}
	return cs
}

// stale removes DHCP devices of ours in the namespace that belong to another
// (former) DHCP port of the network; their host ends go with them.
func (w *netWork) stale(o *observedNS, alias string) []change {
	var cs []change
	for _, name := range slices.Sorted(maps.Keys(o.links)) {
		l := o.links[name]
		if kind, _, ok := naming.ParseOwner(l.Attrs().Alias); ok && kind == ownerKind && l.Attrs().Alias != alias {
			cs = append(cs, change{remove, "link", w.in(name), func() error {
				return nl.IgnoreNotFound(w.ns.Netlink().LinkDel(l))
			}})
		}
	}
	return cs
}

// pair converges the veth pair tap<port11> (host, in the bridge) <->
// ns-<port11> (namespace, the port's MAC). Half a pair is replaced whole.
func (w *netWork) pair(tap, dev netlink.Link, alias string) []change {
	cfg := w.cfg
	tapName := naming.Tap(cfg.PortID)
	if tap == nil || dev == nil || dev.Type() != "veth" || dev.Attrs().ParentIndex != tap.Attrs().Index {
		w.fresh = true
		var cs []change
		if tap != nil {
			cs = append(cs, change{remove, "link", tapName + " (unpaired)", func() error {
				return nl.IgnoreNotFound(w.r.host.Netlink().LinkDel(tap))
			}})
		}
		if dev != nil {
			cs = append(cs, change{remove, "link", w.in(cfg.Interface + " (unpaired)"), func() error {
				return nl.IgnoreNotFound(w.ns.Netlink().LinkDel(dev))
			}})
		}
		return append(cs, change{create, "link", w.in(tapName + "/" + cfg.Interface), func() error {
			return w.createPair(alias)
		}})
	}
	var cs []change
	host, ns := w.r.host.Netlink(), w.ns.Netlink()
	brIndex := w.br.Attrs().Index
	if tap.Attrs().MasterIndex != brIndex {
		cs = append(cs, change{update, "link", tapName + " master " + w.br.Attrs().Name, func() error {
			return nl.Err(host.LinkSetMasterByIndex(tap, brIndex))
		}})
	}
	if cfg.MTU > 0 && tap.Attrs().MTU != cfg.MTU {
		cs = append(cs, change{update, "link", fmt.Sprintf("%s mtu %d", tapName, cfg.MTU), func() error {
			return nl.Err(host.LinkSetMTU(tap, cfg.MTU))
		}})
	}
	if tap.Attrs().Flags&net.FlagUp == 0 {
		cs = append(cs, change{update, "link", tapName + " up", func() error {
			return nl.Err(host.LinkSetUp(tap))
		}})
	}
	if !bytes.Equal(dev.Attrs().HardwareAddr, cfg.MAC) {
		cs = append(cs, change{update, "link", w.in(cfg.Interface + " address " + cfg.MAC.String()), func() error {
			return nl.Err(ns.LinkSetHardwareAddr(dev, cfg.MAC))
		}})
	}
	if cfg.MTU > 0 && dev.Attrs().MTU != cfg.MTU {
		cs = append(cs, change{update, "link", w.in(fmt.Sprintf("%s mtu %d", cfg.Interface, cfg.MTU)), func() error {
			return nl.Err(ns.LinkSetMTU(dev, cfg.MTU))
		}})
	}
	if dev.Attrs().Flags&net.FlagUp == 0 {
		cs = append(cs, change{update, "link", w.in(cfg.Interface + " up"), func() error {
			return nl.Err(ns.LinkSetUp(dev))
		}})
	}
	return cs
}

// createPair creates the veth pair with its DHCP end directly in the
// namespace, marks both ends as ours and brings them up.
func (w *netWork) createPair(alias string) error {
	cfg := w.cfg
	_, err := nl.PlugVeth(w.r.host.Netlink(), w.ns.Netlink(), nl.Veth{
		Host: naming.Tap(cfg.PortID), Bridge: w.br.Attrs().Index, MTU: cfg.MTU,
		Peer: cfg.Interface, PeerMAC: cfg.MAC, PeerNS: w.ns.Fd(), PeerUp: true,
		Owner: Owner, Alias: alias,
	})
	return err
}

func (w *netWork) dev() (netlink.Link, error) {
	l, err := w.ns.Netlink().LinkByName(w.cfg.Interface)
	return l, nl.Err(err)
}

// addresses converges the DHCP device's addresses to the DHCP port's fixed
// IPs (IPv6 without duplicate address detection, as Neutron adds them).
// Stale addresses go first, so that they never shadow a desired one.
func (w *netWork) addresses(o *observedNS) []change {
	have := map[netip.Prefix]bool{}
	if o != nil {
		for _, p := range o.addrs {
			have[p] = true
		}
	}
	want := map[netip.Prefix]bool{}
	for _, p := range w.cfg.Addresses {
		want[p] = true
	}
	var extra []netip.Prefix
	for p := range have {
		if !want[p] {
			extra = append(extra, p)
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].String() < extra[j].String() })
	var cs []change
	for _, p := range extra {
		cs = append(cs, change{remove, "address", w.in(p.String() + " on " + w.cfg.Interface), func() error {
			dev, err := w.dev()
			if err != nil {
				return err
			}
			return nl.IgnoreNotFound(w.ns.Netlink().AddrDel(dev, nl.Addr(p)))
		}})
	}
	for _, p := range w.cfg.Addresses {
		if have[p] {
			continue
		}
		cs = append(cs, change{create, "address", w.in(p.String() + " on " + w.cfg.Interface), func() error {
			dev, err := w.dev()
			if err != nil {
				return err
			}
			err = w.ns.Netlink().AddrAdd(dev, nl.Addr(p))
			if nl.IsExist(err) {
				return nil
			}
			return nl.Err(err)
		}})
	}
	return cs
}

// metadataV6 is the one link-local address of the DHCP device that is ours
// (Settings.IsolatedMetadata); the kernel makes the others.
var metadataV6 = netip.MustParseAddr(MetadataAddressV6)

// routes converges the namespace's default routes (ours, marked with
// nl.RouteProtocol) to the Config's gateways, so replies reach relays on
// other subnets. A gateway outside every local prefix is marked on-link.
func (w *netWork) routes(o *observedNS) []change {
	var cs []change
	matched := map[int]bool{}
	for _, gw := range w.cfg.Gateways {
		found := false
		if o != nil {
			for i, rt := range o.routes {
				if isDefault(rt) && addrOf(rt.Gw) == gw && rt.LinkIndex == o.devIndex(w.cfg.Interface) {
					matched[i], found = true, true
				}
			}
		}
		if found {
			continue
		}
		cs = append(cs, change{create, "route", w.in("default via " + gw.String()), func() error {
			dev, err := w.dev()
			if err != nil {
				return err
			}
			bits := gw.BitLen()
			rt := &netlink.Route{
				LinkIndex: dev.Attrs().Index,
				Dst:       &net.IPNet{IP: make(net.IP, bits/8), Mask: net.CIDRMask(0, bits)},
				Gw:        gw.AsSlice(),
				Protocol:  nl.RouteProtocol,
				Family:    map[bool]int{true: netlink.FAMILY_V4, false: netlink.FAMILY_V6}[gw.Is4()],
			}
			if !w.onLink(gw) {
				rt.Flags = int(netlink.FLAG_ONLINK)
			}
			return nl.Err(w.ns.Netlink().RouteReplace(rt))
		}})
	}
	if o != nil {
		for i, rt := range o.routes {
			if matched[i] {
				continue
			}
			rt := rt
			cs = append(cs, change{remove, "route", w.in(fmt.Sprintf("%v via %v", rt.Dst, rt.Gw)), func() error {
				return nl.IgnoreNotFound(w.ns.Netlink().RouteDel(&rt))
			}})
		}
	}
	return cs
}

func (o *observedNS) devIndex(name string) int {
	if l := o.links[name]; l != nil {
		return l.Attrs().Index
	}
	return -1
}

func (w *netWork) onLink(gw netip.Addr) bool {
	for _, p := range w.cfg.Addresses {
		if p.Contains(gw) {
			return true
		}
	}
	return false
}

func isDefault(rt netlink.Route) bool {
	if rt.Dst == nil {
		return true
	}
	ones, _ := rt.Dst.Mask.Size()
	return ones == 0
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
