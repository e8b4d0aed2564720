package router

import (
	"bytes"
	"cmp"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/network"
)

// ownerKind is the ownership alias kind of both ends of a router port's veth
// pair: tap<port11> in the host and qr-/qg-<port11> in the router namespace.
const ownerKind = "router-port"

// Owner names the router realizer in temporary device names (nl.TempName).
const Owner = "router"

// in6AddrGenModeNone stops the kernel from giving the host end an IPv6
// link-local address: host ends carry no addresses, and IPv6 on every bridge
// port floods neighbour discovery and MLD through the bridge.
const in6AddrGenModeNone = 1

func isUp(l netlink.Link) bool { return l.Attrs().Flags&net.FlagUp != 0 }

// diffLinks plans lo and one veth pair per router port. fresh names the
// router-side devices that will be (re)created, so that their addresses are
// planned from scratch.
func (rr *routerRun) diffLinks() ([]change, map[string]bool, error) {
	var cs []change
	if lo, ok := rr.obs.links["lo"]; !ok || !isUp(lo) {
		cs = append(cs, change{update, "link", 1, rr.in("lo up"), func() error {
			lo, err := rr.ns.Netlink().LinkByName("lo")
			if err == nil {
				err = rr.ns.Netlink().LinkSetUp(lo)
			}
			return nl.Err(err)
		}})
	}
	fresh := map[string]bool{}
	for _, ifc := range rr.spec.Ifaces {
		c, created, err := rr.diffIface(ifc)
		if err != nil {
			return nil, nil, err
		}
		cs = append(cs, c...)
		fresh[ifc.Name] = created
	}
	return cs, fresh, nil
}

func (rr *routerRun) diffIface(ifc *ifaceSpec) ([]change, bool, error) {
	alias := naming.OwnerAlias(ownerKind, ifc.PortID)
	br, ok := rr.host[ifc.Bridge]
	switch {
	case !ok && rr.dry:
		// Planning a fresh node: the network realizer, which runs first,
		// will have made the bridge by the time Apply plugs into it.
		br = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: ifc.Bridge}}
	case !ok || br.Type() != "bridge":
		return nil, false, errdefs.NotFound("ports", "bridge %s of port %s's network is missing from the host (the network realizer creates it)", ifc.Bridge, ifc.PortID)
	case !ourBridge(br, ifc.Bridge):
		// A bridge with our name that the network realizer did not make is
		// someone else's: never plug into it.
		return nil, false, errdefs.Conflict("ports", "bridge %s of port %s's network exists and is not ours (alias %q)", ifc.Bridge, ifc.PortID, br.Attrs().Alias)
	}
	tap, dev := rr.host[ifc.Tap], rr.obs.links[ifc.Name]
	if tap != nil && tap.Attrs().Alias != alias {
		return nil, false, errdefs.Conflict("ports", "host device %s of port %s exists and is not ours (alias %q)", ifc.Tap, ifc.PortID, tap.Attrs().Alias)
	}
	if dev != nil && dev.Attrs().Alias != alias {
		return nil, false, errdefs.Conflict("ports", "device %s of port %s exists in %s and is not ours (alias %q)", ifc.Name, ifc.PortID, rr.where, dev.Attrs().Alias)
	}
	var cs []change
	if tap == nil || dev == nil || dev.Type() != "veth" || dev.Attrs().ParentIndex != tap.Attrs().Index {
		// Half a pair (its peer renamed or moved away) is replaced whole.
		if tap != nil {
			cs = append(cs, change{remove, "link", 1, ifc.Tap + " (unpaired)", func() error {
				return nl.IgnoreNotFound(rr.r.host.Netlink().LinkDel(tap))
			}})
		}
		if dev != nil {
			cs = append(cs, change{remove, "link", 1, rr.in(ifc.Name + " (unpaired)"), func() error {
				return nl.IgnoreNotFound(rr.ns.Netlink().LinkDel(dev))
			}})
		}
		brIndex := br.Attrs().Index
		cs = append(cs, change{create, "link", 1, rr.in(ifc.Tap + "/" + ifc.Name), func() error {
			return rr.createVeth(ifc, alias, brIndex)
		}})
		return cs, true, nil
	}
	rr.idx[ifc.Name] = dev.Attrs().Index
	host, ns := rr.r.host.Netlink(), func() *netlink.Handle { return rr.ns.Netlink() }
	if tap.Attrs().MasterIndex != br.Attrs().Index {
		cs = append(cs, change{update, "link", 1, ifc.Tap + " master " + ifc.Bridge, func() error {
			return nl.Err(host.LinkSetMasterByIndex(tap, br.Attrs().Index))
		}})
	}
	if ifc.MTU > 0 && tap.Attrs().MTU != ifc.MTU {
		cs = append(cs, change{update, "link", 1, ifc.Tap + " mtu", func() error {
			return nl.Err(host.LinkSetMTU(tap, ifc.MTU))
		}})
	}
	if ifc.MTU > 0 && dev.Attrs().MTU != ifc.MTU {
		cs = append(cs, change{update, "link", 1, rr.in(ifc.Name + " mtu"), func() error {
			return nl.Err(ns().LinkSetMTU(dev, ifc.MTU))
		}})
	}
	if !isUp(tap) {
		cs = append(cs, change{update, "link", 1, ifc.Tap + " up", func() error {
			return nl.Err(host.LinkSetUp(tap))
		}})
	}
	if !bytes.Equal(dev.Attrs().HardwareAddr, ifc.MAC) {
		cs = append(cs, change{update, "link", 1, rr.in(ifc.Name + " address " + ifc.MAC.String()), func() error {
			return nl.Err(ns().LinkSetHardwareAddr(dev, ifc.MAC))
		}})
	}
	if isUp(dev) != ifc.Up {
		state := map[bool]string{true: " up", false: " down"}[ifc.Up]
		cs = append(cs, change{update, "link", 1, rr.in(ifc.Name + state), func() error {
			if ifc.Up {
				return nl.Err(ns().LinkSetUp(dev))
			}
			return nl.Err(ns().LinkSetDown(dev))
		}})
	}
	return cs, false, nil
}

// createVeth creates the pair with its router end directly in the router
// namespace, carrying the port's MAC, enslaves the host end to the bridge,
// and marks both ends as ours (nl.PlugVeth: the host end's name never
// exists unlabelled, even if the process dies half-way).
func (rr *routerRun) createVeth(ifc *ifaceSpec, alias string, brIndex int) error {
	dev, err := nl.PlugVeth(rr.r.host.Netlink(), rr.ns.Netlink(), nl.Veth{
		Host: ifc.Tap, Bridge: brIndex, MTU: ifc.MTU,
		Peer: ifc.Name, PeerMAC: ifc.MAC, PeerNS: rr.ns.Fd(), PeerUp: ifc.Up,
		Owner: Owner, Alias: alias,
	})
	if err != nil {
		return err
	}
	rr.idx[ifc.Name] = dev.Attrs().Index
	return nil
}

// ourBridge reports whether br, named name, is a bridge the network
// realizer made.
func ourBridge(br netlink.Link, name string) bool {
	kind, id, ok := naming.ParseOwner(br.Attrs().Alias)
	return ok && kind == network.KindBridge && naming.Bridge(id) == name
}

// sweepUnfinished deletes host devices with a temporary name of ours:
// creations a crash interrupted (nl.CreateOwned), swept by nl.SweepTemp.
func (r *Realizer) sweepUnfinished(links map[string]netlink.Link, rep *Report, dry bool) error {
	var temp []netlink.Link
	for _, name := range sortedKeys(links) {
		if nl.IsTemp(name, Owner) {
			temp = append(temp, links[name])
		}
	}
	var swept []string
	var err error
	if dry {
		for _, l := range temp {
			swept = append(swept, l.Attrs().Name)
		}
	} else {
		swept, err = nl.SweepTemp(r.host.Netlink(), temp, Owner)
	}
	for _, name := range swept {
		report.AddN(rep, remove.String(), "unfinished", 1, name)
	}
	return err
}

// ours reports whether l is a router-port device of ours, and its port ID.
func ours(l netlink.Link) (string, bool) {
	kind, id, ok := naming.ParseOwner(l.Attrs().Alias)
	return id, ok && kind == ownerKind
}

// staleLinks removes our devices in the router namespace that no port wants.
// Deleting one end of a veth pair deletes both, so the host end goes too.
// Devices with our names but not our alias are someone else's and stay.
func (rr *routerRun) staleLinks() []change {
	want := make(map[string]bool, len(rr.spec.Ifaces))
	for _, ifc := range rr.spec.Ifaces {
		want[ifc.Name] = true
	}
	var cs []change
	for _, name := range sortedKeys(rr.obs.links) {
		l := rr.obs.links[name]
		if _, ok := ours(l); !ok || want[name] {
			continue
		}
		if strings.HasPrefix(name, naming.PrefixGateway) {
			for p := range rr.obs.addrs[l.Attrs().Index] {
				if p.Addr().Is4() && !rr.spec.Gateway.holds(p.Addr()) {
					rr.conntrack = append(rr.conntrack, p.Addr())
				}
			}
		}
		cs = append(cs, change{remove, "link", 1, rr.in(name), func() error {
			return nl.IgnoreNotFound(rr.ns.Netlink().LinkDel(l))
		}})
	}
	return cs
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K { return slices.Sorted(maps.Keys(m)) }
