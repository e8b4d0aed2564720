package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/nodestate"
	"github.com/neutrino-net/neutrino/namespace"
)

// addrGenModeNone stops the kernel from giving a device an IPv6 link-local
// address, so it never sends neighbour discovery or MLD: host-side devices
// carry no addresses, and with IPv6 on, every new port on a big bridge
// floods all the others (PITFALLS.md). disable_ipv6 would also refuse the
// IPv6 responder entries of VXLAN devices.
const addrGenModeNone = 1

// observe reads the host: one link dump (the agent pass's shared one, see
// internal/nodestate), and one FDB and one neighbour dump when VXLAN devices
// are wanted or present.
func (r *Realizer) observe(ctx context.Context, w *want) (*observed, error) {
	h := r.host.Netlink()
	links, err := nodestate.Links(ctx, r.host)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	o := &observed{devices: make(map[string]*device, len(links)), index: make(map[string]int, len(links))}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	vxlans := map[int]string{}
	for _, l := range links {
		d := toDevice(l, names)
		o.devices[d.Name] = d
		o.index[d.Name] = l.Attrs().Index
		if kind, _, ok := naming.ParseOwner(d.Alias); ok && kind == KindVXLAN && d.Kind == KindVXLAN {
			vxlans[l.Attrs().Index] = d.Name
		}
	}
	if len(vxlans) == 0 {
		return o, nil
	}
	o.fdb, o.neigh = map[string][]fdbEntry{}, map[string][]neighEntry{}
	fdb, err := nl.Dump(func() ([]netlink.Neigh, error) { return h.NeighList(0, unix.AF_BRIDGE) })
	if err != nil {
		return nil, fmt.Errorf("list fdb: %w", err)
	}
	for _, n := range fdb {
		dev, ok := vxlans[n.LinkIndex]
		if !ok || n.Flags&netlink.NTF_SELF == 0 {
			continue // the bridge's entries for the VXLAN port, not the device's own
		}
		dst, _ := netip.AddrFromSlice(n.IP)
		o.fdb[dev] = append(o.fdb[dev], fdbEntry{Dev: dev, MAC: n.HardwareAddr.String(), Dst: dst.Unmap()})
	}
	neigh, err := nl.Dump(func() ([]netlink.Neigh, error) { return h.NeighList(0, unix.AF_UNSPEC) })
	if err != nil {
		return nil, fmt.Errorf("list neighbours: %w", err)
	}
	for _, n := range neigh {
		dev, ok := vxlans[n.LinkIndex]
		if !ok || (n.Family != unix.AF_INET && n.Family != unix.AF_INET6) {
			continue
		}
		ip, _ := netip.AddrFromSlice(n.IP)
		o.neigh[dev] = append(o.neigh[dev], neighEntry{Dev: dev, IP: ip.Unmap(), MAC: n.HardwareAddr.String(),
			Permanent: n.State&netlink.NUD_PERMANENT != 0})
	}
	return o, nil
}

func toDevice(l netlink.Link, names map[int]string) *device {
	a := l.Attrs()
	d := &device{Name: a.Name, Kind: l.Type(), Alias: a.Alias, MTU: a.MTU, Up: a.Flags&net.FlagUp != 0, Master: names[a.MasterIndex]}
	switch v := l.(type) {
	case *netlink.Vxlan:
		local, _ := netip.AddrFromSlice(v.SrcAddr)
		d.VNI, d.Local, d.Port, d.Learning, d.Proxy = v.VxlanId, local.Unmap(), v.Port, v.Learning, v.Proxy
	case *netlink.Vlan:
		d.VLAN, d.Parent = v.VlanId, names[a.ParentIndex]
	}
	return d
}

// executor runs the planned changes with one netlink request per operation.
func (r *Realizer) executor(o *observed) func(op) error {
	ex := &executor{h: r.host.Netlink(), ns: r.host, index: o.index}
	return ex.do
}

type executor struct {
	h     *netlink.Handle
	ns    *namespace.Handle
	index nl.Index
}

func (e *executor) do(o op) error {
	switch o := o.(type) {
	case opAdd:
		return e.add(o.dev)
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
			if o.master == "" {
				return e.h.LinkSetNoMaster(l)
			}
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
	case opFDBAdd:
		n, err := e.fdb(o.e)
		if err != nil {
			return err
		}
		if o.e.MAC == zeroMAC {
			// The flood list holds one all-zero entry per remote node.
			return nl.Err(e.h.NeighAppend(n))
		}
		return nl.Err(e.h.NeighSet(n))
	case opFDBDel:
		n, err := e.fdb(o.e)
		if err != nil {
			return err
		}
		return nl.IgnoreNotFound(e.h.NeighDel(n))
	case opNeighSet:
		n, err := e.neigh(o.e)
		if err != nil {
			return err
		}
		return nl.Err(e.h.NeighSet(n))
	case opNeighDel:
		n, err := e.neigh(o.e)
		if err != nil {
			return err
		}
		return nl.IgnoreNotFound(e.h.NeighDel(n))
	}
	return fmt.Errorf("unknown operation %T", o)
}

// add creates d down, enslaves it, and turns IPv6 address generation off
// before anything brings it up.
func (e *executor) add(d device) error {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU = d.Name, d.MTU
	var l netlink.Link
	switch d.Kind {
	case KindBridge:
		l = &netlink.Bridge{LinkAttrs: attrs}
	case KindVXLAN:
		l = &netlink.Vxlan{LinkAttrs: attrs, VxlanId: d.VNI, SrcAddr: d.Local.AsSlice(), Port: d.Port,
			Learning: d.Learning, Proxy: d.Proxy}
	case KindVLAN:
		parent, err := e.index.Link(d.Parent)
		if err != nil {
			return err
		}
		attrs.ParentIndex = parent.Attrs().Index
		l = &netlink.Vlan{LinkAttrs: attrs, VlanId: d.VLAN}
	default:
		return fmt.Errorf("cannot create a %s device", d.Kind)
	}
	// The device's name never appears without our alias, even if the
	// process dies half-way (see nl.CreateOwned).
	if err := nl.CreateOwned(e.h, l, Owner, d.Alias); err != nil {
		return err
	}
	e.index[d.Name] = l.Attrs().Index
	if err := e.h.LinkSetIP6AddrGenMode(l, addrGenModeNone); err != nil {
		return nl.Err(err)
	}
	if d.Kind == KindBridge {
		// Tenant routers send router advertisements on the networks: the
		// node itself must not take addresses and a default route from
		// them (Neutron's linuxbridge agent disables IPv6 on its bridges).
		// Address generation off does not stop SLAAC from an RA.
		err := e.ns.Sysctl("net.ipv6.conf."+d.Name+".accept_ra", "0")
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // no IPv6 on the node
			return err
		}
	}
	if d.Master != "" {
		m, err := e.index.Link(d.Master)
		if err != nil {
			return err
		}
		return nl.Err(e.h.LinkSetMasterByIndex(l, m.Attrs().Index))
	}
	return nil
}

func (e *executor) fdb(f fdbEntry) (*netlink.Neigh, error) {
	l, err := e.index.Link(f.Dev)
	if err != nil {
		return nil, err
	}
	mac, err := net.ParseMAC(f.MAC)
	if err != nil {
		return nil, err
	}
	return &netlink.Neigh{LinkIndex: l.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT | netlink.NUD_NOARP,
		Flags: netlink.NTF_SELF, HardwareAddr: mac, IP: f.Dst.AsSlice()}, nil
}

func (e *executor) neigh(n neighEntry) (*netlink.Neigh, error) {
	l, err := e.index.Link(n.Dev)
	if err != nil {
		return nil, err
	}
	mac, err := net.ParseMAC(n.MAC)
	if err != nil {
		return nil, err
	}
	family := unix.AF_INET
	if n.IP.Is6() {
		family = unix.AF_INET6
	}
	return &netlink.Neigh{LinkIndex: l.Attrs().Index, Family: family, State: netlink.NUD_PERMANENT, IP: n.IP.AsSlice(), HardwareAddr: mac}, nil
}
