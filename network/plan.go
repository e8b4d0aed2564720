package network

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/converge"
	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/internal/nl"
)

// Owner kinds of the devices this realizer creates (naming.OwnerAlias).
const (
	KindBridge = "bridge"
	KindVXLAN  = "vxlan"
	KindVLAN   = "vlan"
)

// Report kinds of objects that are not devices of our own.
const (
	kindPhysical = "physical"
	kindFDB      = "fdb"
	kindNeigh    = "neigh"
)

var ownedKinds = map[string]bool{KindBridge: true, KindVXLAN: true, KindVLAN: true}

// device is a host network device, as the kernel reported it or as a network
// needs it. Masters and parents are named, not indexed, so that plans read
// (and test) without the kernel.
type device struct {
	Name   string
	Kind   string // "bridge", "vxlan", "vlan", or the kernel's kind
	Alias  string
	MTU    int
	Up     bool
	Master string
	// VXLAN
	VNI      int
	Local    netip.Addr
	Port     int
	Learning bool
	Proxy    bool
	// VLAN
	VLAN   int
	Parent string
}

// fdbEntry is a static forwarding entry of a VXLAN device: frames to MAC go
// to the node Dst (all zeros: the flood list).
type fdbEntry struct {
	Dev, MAC string
	Dst      netip.Addr
}

// neighEntry is an ARP/ND entry on a VXLAN device, answered by its proxy.
type neighEntry struct {
	Dev       string
	IP        netip.Addr
	MAC       string
	Permanent bool
}

// observed is the host's state: every device, and the FDB and neighbour
// entries of VXLAN devices (only entries the device holds itself).
type observed struct {
	devices map[string]*device
	fdb     map[string][]fdbEntry
	neigh   map[string][]neighEntry
	index   map[string]int // ifindex by name, for the executor
}

// Operations on the kernel, by name; see realize_linux.go.
type (
	op    interface{ isOp() }
	opAdd struct{ dev device } // create down, enslaved to dev.Master, IPv6 quiet
	opDel struct{ name string }
	opMTU struct {
		name string
		mtu  int
	}
	opMaster struct{ name, master string } // master "" releases
	opUp     struct {
		name string
		up   bool
	}
	opFDBAdd   struct{ e fdbEntry }
	opFDBDel   struct{ e fdbEntry }
	opNeighSet struct{ e neighEntry }
	opNeighDel struct{ e neighEntry }
)

func (opAdd) isOp()      {}
func (opDel) isOp()      {}
func (opMTU) isOp()      {}
func (opMaster) isOp()   {}
func (opUp) isOp()       {}
func (opFDBAdd) isOp()   {}
func (opFDBDel) isOp()   {}
func (opNeighSet) isOp() {}
func (opNeighDel) isOp() {}

// change is one line of a Report: one object created, updated or deleted by
// a few kernel operations. Its Group is the network it belongs to.
type change = converge.Change[op]

// segment is what a network needs on this host.
type segment struct {
	net    Network
	bridge device
	own    *device // our VXLAN or VLAN device; nil for flat and local
	uplink string  // flat and VLAN: the mapped interface, kept up
	flat   bool    // the uplink itself is enslaved to the bridge
	fdb    []fdbEntry
	neigh  []neighEntry
}

// planner computes the changes that take the host from o to w.
type planner struct {
	cfg     *config
	o       *observed
	deleted map[string]bool // devices deleted earlier in the plan
	changes []change
	errs    []error
}

func plan(cfg *config, w *want, o *observed) ([]change, error) {
	p := &planner{cfg: cfg, o: o, deleted: map[string]bool{}}
	segs := make([]segment, 0, len(w.networks))
	needed := map[string]string{} // device name -> alias
	for _, n := range w.networks {
		s, err := cfg.segment(n, w)
		// A network in error keeps what it has: a configuration mistake
		// must not tear down its bridge.
		needed[s.bridge.Name] = s.bridge.Alias
		if s.own != nil {
			needed[s.own.Name] = s.own.Alias
		}
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("network %s: %w", n.ID, err))
			continue
		}
		segs = append(segs, s)
	}
	p.deleteStale(needed)
	p.releasePhysical(segs)
	for _, s := range segs {
		if err := p.check(s); err != nil {
			p.errs = append(p.errs, fmt.Errorf("network %s: %w", s.net.ID, err))
			continue
		}
		p.network(s)
	}
	return p.changes, errors.Join(p.errs...)
}

// segment derives the devices and entries network n needs.
func (c *config) segment(n Network, w *want) (segment, error) {
	br := naming.Bridge(n.ID)
	s := segment{net: n, bridge: device{
		Name: br, Kind: KindBridge, Alias: naming.OwnerAlias(KindBridge, n.ID), MTU: n.MTU, Up: n.Up(),
	}}
	switch n.NetworkType {
	case TypeVXLAN:
		name := naming.VXLAN(n.SegmentationID)
		s.own = &device{
			Name: name, Kind: KindVXLAN, Alias: naming.OwnerAlias(KindVXLAN, n.ID), MTU: n.MTU, Up: n.Up(),
			Master: br, VNI: n.SegmentationID, Local: w.localIP, Port: c.vxlanPort, Proxy: c.arpResponder,
		}
		s.fdb, s.neigh = c.population(name, w.remote[n.ID])
	case TypeFlat, TypeVLAN:
		iface, ok := c.mappings[n.PhysicalNetwork]
		if !ok {
			return s, errdefs.NotFound("provider:physical_network", "physical network %q has no interface mapping on this host", n.PhysicalNetwork)
		}
		s.uplink, s.flat = iface, n.NetworkType == TypeFlat
		if s.flat {
			break
		}
		s.own = &device{
			Name: VLANInterface(iface, n.SegmentationID), Kind: KindVLAN, Alias: naming.OwnerAlias(KindVLAN, n.ID),
			MTU: n.MTU, Up: n.Up(), Master: br, VLAN: n.SegmentationID, Parent: iface,
		}
	}
	return s, nil
}

// population is l2population for one VXLAN device: a flooding entry per
// remote node, a unicast entry and responder entries per remote port.
func (c *config) population(dev string, remote []Endpoint) ([]fdbEntry, []neighEntry) {
	var fdb []fdbEntry
	var neigh []neighEntry
	vteps := map[netip.Addr]bool{}
	for _, e := range remote {
		if !vteps[e.VTEP] {
			vteps[e.VTEP] = true
			fdb = append(fdb, fdbEntry{Dev: dev, MAC: zeroMAC, Dst: e.VTEP})
		}
		mac := e.MAC.String()
		fdb = append(fdb, fdbEntry{Dev: dev, MAC: mac, Dst: e.VTEP})
		if c.arpResponder {
			for _, ip := range e.IPs {
				neigh = append(neigh, neighEntry{Dev: dev, IP: ip, MAC: mac, Permanent: true})
			}
		}
	}
	return fdb, neigh
}

const zeroMAC = "00:00:00:00:00:00"

// VLANInterface is the name of the 802.1Q sub-interface of iface for vlan:
// "<iface>.<vlan>", with iface cut so that the name fits IFNAMSIZ.
func VLANInterface(iface string, vlan int) string {
	suffix := fmt.Sprintf(".%d", vlan)
	if room := 15 - len(suffix); len(iface) > room {
		iface = iface[:room]
	}
	return iface + suffix
}

// Owner names the network realizer in temporary device names (nl.TempName).
const Owner = "network"

// deleteStale deletes our devices that no desired network needs.
func (p *planner) deleteStale(needed map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(p.o.devices)) {
		d := p.o.devices[name]
		if nl.IsTemp(name, Owner) { // a creation a crash interrupted
			p.deleted[name] = true
			p.changes = append(p.changes, change{Verb: Delete, Kind: "unfinished", What: name, Ops: []op{opDel{name}}})
			continue
		}
		kind, _, ours := naming.ParseOwner(d.Alias)
		if !ours || !ownedKinds[kind] || needed[name] == d.Alias {
			continue
		}
		p.deleted[name] = true
		p.changes = append(p.changes, change{Verb: Delete, Kind: kind, What: name, Ops: []op{opDel{name}}})
	}
}

// releasePhysical takes mapped interfaces out of our bridges that no longer
// want them (a flat network gone or moved to another interface). Deleting a
// bridge releases its interfaces by itself.
func (p *planner) releasePhysical(segs []segment) {
	wanted := map[string]bool{}
	for _, s := range segs {
		if s.flat {
			wanted[s.uplink] = true
		}
	}
	ifaces := make([]string, 0, len(p.cfg.mappings))
	for _, iface := range p.cfg.mappings {
		ifaces = append(ifaces, iface)
	}
	slices.Sort(ifaces)
	for _, iface := range slices.Compact(ifaces) {
		d := p.o.devices[iface]
		if d == nil || wanted[iface] || p.master(d) == "" || !p.ownedBridge(p.master(d)) {
			continue
		}
		p.changes = append(p.changes, change{Verb: Update, Kind: kindPhysical, What: iface + ": release from " + d.Master,
			Ops: []op{opMaster{iface, ""}}})
	}
}

// master is d's master, "" if none or if the plan deletes it first.
func (p *planner) master(d *device) string {
	if p.deleted[d.Master] {
		return ""
	}
	return d.Master
}

func (p *planner) ownedBridge(name string) bool {
	d := p.o.devices[name]
	if d == nil {
		return false
	}
	kind, _, ok := naming.ParseOwner(d.Alias)
	return ok && kind == KindBridge
}

// check finds what stops a network from being realized before any of its
// changes is planned: devices of ours taken by someone else, a missing or
// busy physical interface.
func (p *planner) check(s segment) error {
	var errs []error
	for _, want := range []*device{&s.bridge, s.own} {
		if want == nil {
			continue
		}
		if d := p.o.devices[want.Name]; d != nil && !p.deleted[d.Name] && d.Alias != want.Alias {
			errs = append(errs, errdefs.Conflict(want.Name, "a device named %s exists and is not Neutrino's (alias %q): left alone", want.Name, d.Alias))
		}
	}
	if iface := s.uplink; iface != "" {
		d := p.o.devices[iface]
		switch {
		case d == nil:
			errs = append(errs, errdefs.NotFound(iface, "physical interface %s (provider:physical_network %s) does not exist", iface, s.net.PhysicalNetwork))
		case s.flat && p.master(d) != "" && p.master(d) != s.bridge.Name && !p.ownedBridge(p.master(d)):
			errs = append(errs, errdefs.Conflict(iface, "physical interface %s is enslaved to %s, which is not Neutrino's", iface, d.Master))
		}
	}
	return errors.Join(errs...)
}

// network plans one network: its bridge, its segment device or interface,
// and l2population entries.
func (p *planner) network(s segment) {
	p.ensure(s.net.ID, s.bridge)
	if s.uplink != "" {
		p.uplink(s)
	}
	if s.own != nil {
		fresh := p.ensure(s.net.ID, *s.own)
		if s.own.Kind == KindVXLAN {
			p.entries(s.net.ID, s, fresh)
		}
	}
}

// uplink keeps the mapped interface up and, for a flat network, in the
// bridge. It is the host's: nothing else about it is ours to change.
func (p *planner) uplink(s segment) {
	d := p.o.devices[s.uplink]
	var ops []op
	var what []string
	if m := p.master(d); s.flat && m != s.bridge.Name {
		ops, what = append(ops, opMaster{d.Name, s.bridge.Name}), append(what, fmt.Sprintf("master %s -> %s", cmp.Or(m, "none"), s.bridge.Name))
	}
	if !d.Up && s.net.Up() {
		ops, what = append(ops, opUp{d.Name, true}), append(what, "up")
	}
	if len(ops) > 0 {
		p.changes = append(p.changes, change{Verb: Update, Kind: kindPhysical, What: d.Name + ": " + strings.Join(what, ", "), Group: s.net.ID, Ops: ops})
	}
}

// ensure plans the creation, repair or re-creation of one of our devices and
// reports whether it will be new (so that it holds no entries yet).
func (p *planner) ensure(group string, want device) (fresh bool) {
	have := p.o.devices[want.Name]
	if have != nil && !p.deleted[want.Name] {
		reason := immutableDiff(want, *have)
		if reason == "" {
			ops, what := p.repair(want, *have)
			if len(ops) > 0 {
				p.changes = append(p.changes, change{Verb: Update, Kind: want.Kind, What: want.Name + ": " + strings.Join(what, ", "), Group: group, Ops: ops})
			}
			return false
		}
		p.deleted[want.Name] = true
		p.changes = append(p.changes, change{Verb: Update, Kind: want.Kind, What: want.Name + ": re-create (" + reason + ")", Group: group,
			Ops: append([]op{opDel{want.Name}}, createOps(want)...)})
		return true
	}
	p.changes = append(p.changes, change{Verb: Create, Kind: want.Kind, What: want.Name, Group: group, Ops: createOps(want)})
	return true
}

func createOps(d device) []op {
	ops := []op{opAdd{d}}
	if d.Up {
		ops = append(ops, opUp{d.Name, true})
	}
	return ops
}

// immutableDiff says why have cannot be turned into want in place, or "".
func immutableDiff(want, have device) string {
	var why []string
	if have.Kind != want.Kind {
		why = append(why, fmt.Sprintf("kind %s", have.Kind))
	}
	if want.Kind == KindVXLAN && have.Kind == KindVXLAN {
		if have.VNI != want.VNI {
			why = append(why, fmt.Sprintf("vni %d -> %d", have.VNI, want.VNI))
		}
		if have.Local != want.Local {
			why = append(why, fmt.Sprintf("local %v -> %v", have.Local, want.Local))
		}
		if have.Port != want.Port {
			why = append(why, fmt.Sprintf("dstport %d -> %d", have.Port, want.Port))
		}
		if have.Learning != want.Learning {
			why = append(why, fmt.Sprintf("learning %t -> %t", have.Learning, want.Learning))
		}
		if have.Proxy != want.Proxy {
			why = append(why, fmt.Sprintf("proxy %t -> %t", have.Proxy, want.Proxy))
		}
	}
	if want.Kind == KindVLAN && have.Kind == KindVLAN {
		if have.VLAN != want.VLAN || have.Parent != want.Parent {
			why = append(why, fmt.Sprintf("vlan %s.%d -> %s.%d", have.Parent, have.VLAN, want.Parent, want.VLAN))
		}
	}
	return strings.Join(why, ", ")
}

// repair returns the operations that fix have's mutable attributes.
func (p *planner) repair(want, have device) ([]op, []string) {
	var ops []op
	var what []string
	if have.MTU != want.MTU {
		ops, what = append(ops, opMTU{want.Name, want.MTU}), append(what, fmt.Sprintf("mtu %d -> %d", have.MTU, want.MTU))
	}
	if m := p.master(&have); m != want.Master {
		ops, what = append(ops, opMaster{want.Name, want.Master}), append(what, fmt.Sprintf("master %s -> %s", cmp.Or(m, "none"), cmp.Or(want.Master, "none")))
	}
	if have.Up != want.Up {
		ops, what = append(ops, opUp{want.Name, want.Up}), append(what, upDown(want.Up))
	}
	return ops, what
}

// entries plans the FDB and neighbour entries of a VXLAN device; a fresh
// device has none yet.
func (p *planner) entries(group string, s segment, fresh bool) {
	dev := s.own.Name
	var haveFDB []fdbEntry
	var haveNeigh []neighEntry
	if !fresh {
		haveFDB, haveNeigh = p.o.fdb[dev], p.o.neigh[dev]
	}
	wantFDB := make(map[fdbEntry]bool, len(s.fdb))
	for _, e := range s.fdb {
		wantFDB[e] = true
	}
	have := make(map[fdbEntry]bool, len(haveFDB))
	// Deletions first: a MAC that moved to another node is a delete and an add.
	for _, e := range haveFDB {
		have[e] = true
		if !wantFDB[e] {
			p.changes = append(p.changes, change{Verb: Delete, Kind: kindFDB, What: e.String(), Group: group, Ops: []op{opFDBDel{e}}})
		}
	}
	for _, e := range s.fdb {
		if !have[e] {
			p.changes = append(p.changes, change{Verb: Create, Kind: kindFDB, What: e.String(), Group: group, Ops: []op{opFDBAdd{e}}})
		}
	}
	wantNeigh := make(map[netip.Addr]bool, len(s.neigh))
	for _, e := range s.neigh {
		wantNeigh[e.IP] = true
	}
	haveN := make(map[netip.Addr]neighEntry, len(haveNeigh))
	for _, e := range haveNeigh {
		haveN[e.IP] = e
		// Only permanent entries are ours (l2population); the kernel makes
		// and ages dynamic ones under traffic, and deleting those would
		// make a no-op Apply change the node.
		if !wantNeigh[e.IP] && e.Permanent {
			p.changes = append(p.changes, change{Verb: Delete, Kind: kindNeigh, What: e.String(), Group: group, Ops: []op{opNeighDel{e}}})
		}
	}
	for _, e := range s.neigh {
		h, ok := haveN[e.IP]
		switch {
		case !ok:
			p.changes = append(p.changes, change{Verb: Create, Kind: kindNeigh, What: e.String(), Group: group, Ops: []op{opNeighSet{e}}})
		case h.MAC != e.MAC || !h.Permanent:
			p.changes = append(p.changes, change{Verb: Update, Kind: kindNeigh, What: e.String(), Group: group, Ops: []op{opNeighSet{e}}})
		}
	}
}

func (e fdbEntry) String() string { return fmt.Sprintf("%s dst %s dev %s", e.MAC, e.Dst, e.Dev) }

func (e neighEntry) String() string { return fmt.Sprintf("%s lladdr %s dev %s", e.IP, e.MAC, e.Dev) }

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}
