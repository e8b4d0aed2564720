package port

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
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
)

const (
	kindPort    = OwnerKind
	kindAddress = "address"
	kindRoute   = "route"
)

// hostDev is a device of the host namespace as the kernel reported it.
type hostDev struct {
	Name, Kind, Alias string
	Index, MTU        int
	Up                bool
	Master            string
	// veth: the peer's ifindex in its namespace, and that namespace's id as
	// the host knows it (-1: the host's own or none).
	PeerIndex, PeerNetNS int
	// tuntap
	TapMode, MultiQueue bool
	// vlan (trunk sub-ports): the ID and the parent's ifindex; MAC of any.
	VlanID, ParentIndex int
	MAC                 string
}

// instDev is a device in an instance namespace.
type instDev struct {
	Index     int
	Name      string
	Kind      string
	MAC       string
	MTU       int
	Up        bool
	PeerIndex int
}

// instView is what a veth port's instance namespace holds for it.
type instView struct {
	err   error    // the namespace could not be opened
	nsid  int      // the namespace's id as the host knows it, -1 if none
	peer  *instDev // the device at the host end's peer index
	named *instDev // the device called ifname
	// With configure_ips, on the peer: static global addresses, and the
	// gateways of the default routes we installed.
	addrs  []netip.Prefix
	routes []netip.Addr
}

// observed is the host's devices and, per veth port (by ID), its instance's.
type observed struct {
	host   map[string]*hostDev
	inst   map[string]*instView
	closer func()
	// handles are the open instance namespaces, by path, for the executor.
	handles map[string]*namespace.Handle
}

func (o *observed) close() {
	if o.closer != nil {
		o.closer()
	}
}

// Operations on the kernel; see realize_linux.go.
type (
	op     interface{ isOp() }
	opVeth struct{ w portWant } // host end (marked, IPv6 quiet, enslaved) + instance end
	opTap  struct{ w portWant } // tap device (marked, MTU, IPv6 quiet, enslaved)
	opDel  struct{ name string }
	opMTU  struct {
		name string
		mtu  int
	}
	opMaster struct{ name, master string }
	opUp     struct {
		name string
		up   bool
	}
	opPeerRename struct {
		w    portWant
		from string
	}
	opPeerMAC struct{ w portWant }
	opPeerMTU struct{ w portWant }
	opPeerUp  struct{ w portWant }
	opAddr    struct {
		w   portWant
		a   netip.Prefix
		add bool
	}
	opRoute struct {
		w   portWant
		gw  netip.Addr
		add bool
	}
)

func (opVeth) isOp()       {}
func (opTap) isOp()        {}
func (opDel) isOp()        {}
func (opMTU) isOp()        {}
func (opMaster) isOp()     {}
func (opUp) isOp()         {}
func (opPeerRename) isOp() {}
func (opPeerMAC) isOp()    {}
func (opPeerMTU) isOp()    {}
func (opPeerUp) isOp()     {}
func (opAddr) isOp()       {}
func (opRoute) isOp()      {}

// change is one line of a Report. Its Group is the port's ID: a port's later
// changes are skipped when one fails.
type change = converge.Change[op]

type planner struct {
	o       *observed
	dry     bool
	deleted map[string]bool
	changes []change
	errs    []error
}

// plan computes the changes from o to w. A dry run (Plan) takes a missing
// bridge for one the network realizer is about to make, so that the plan of
// a node's first Apply foretells it; Apply cannot enslave to a bridge that
// is not there and reports the port.
//
// Devices with a temporary name of ours (nl.TempName) are creations a crash
// interrupted: they are deleted.
func plan(w *want, o *observed, dry bool) ([]change, error) {
	p := &planner{o: o, dry: dry, deleted: map[string]bool{}}
	needed := make(map[string]string, len(w.ports))
	for _, pw := range w.ports {
		needed[pw.tap] = pw.alias
	}
	for _, sw := range w.subs {
		needed[sw.dev] = sw.alias
	}
	for _, name := range slices.Sorted(maps.Keys(o.host)) {
		d := o.host[name]
		if nl.IsTemp(name, Owner) { // a creation a crash interrupted
			p.deleted[name] = true
			p.add(change{Verb: network.Delete, Kind: "unfinished", What: name, Ops: []op{opDel{name}}})
			continue
		}
		if kind, _, ours := naming.ParseOwner(d.Alias); ours && kind == OwnerKind && needed[name] != d.Alias {
			p.deleted[name] = true
			p.add(change{Verb: network.Delete, Kind: kindPort, What: name, Ops: []op{opDel{name}}})
		}
	}
	for _, pw := range w.ports {
		if err := p.port(pw); err != nil {
			p.errs = append(p.errs, fmt.Errorf("port %s: %w", pw.id, err))
		}
	}
	for _, sw := range w.subs {
		if err := p.subport(sw); err != nil {
			p.errs = append(p.errs, fmt.Errorf("port %s: sub-port %s: %w", sw.parentID, sw.id, err))
		}
	}
	return p.changes, errors.Join(p.errs...)
}

func (p *planner) add(c change) { p.changes = append(p.changes, c) }

// port plans one port, or says why it cannot be plugged.
func (p *planner) port(w portWant) error {
	have := p.o.host[w.tap]
	if p.deleted[w.tap] {
		have = nil
	}
	if have != nil && have.Alias != w.alias {
		return errdefs.Conflict(w.tap, "a device named %s exists and is not this port's (alias %q): left alone", w.tap, have.Alias)
	}
	switch br := p.o.host[w.bridge]; {
	case br == nil && p.dry:
	case br == nil:
		return errdefs.NotFound(w.bridge, "bridge %s does not exist: realize the port's network first", w.bridge)
	case br.Alias != w.brAlias:
		return errdefs.Conflict(w.bridge, "bridge %s is not the network's (alias %q)", w.bridge, br.Alias)
	}
	var inst *instView
	if w.veth() {
		inst = p.o.inst[w.id]
		if inst == nil || inst.err != nil {
			return fmt.Errorf("instance namespace %s: %w", w.netns, instErr(inst))
		}
	}
	if have == nil {
		if err := free(w, inst); err != nil {
			return err
		}
		p.add(change{Verb: network.Create, Kind: kindPort, What: w.describe(), Group: w.id, Ops: createOps(w)})
		return nil
	}
	if reason := mismatch(w, *have, inst); reason != "" {
		if err := free(w, inst); err != nil {
			return err
		}
		p.add(change{Verb: network.Update, Kind: kindPort, What: w.tap + ": re-create (" + reason + ")", Group: w.id,
			Ops: append([]op{opDel{w.tap}}, createOps(w)...)})
		return nil
	}
	ops, what := repairHost(w, *have, p.deleted)
	if inst != nil {
		if inst.named != nil && inst.named.Index != inst.peer.Index {
			return errdefs.Conflict(w.ifname, "%s in %s is another device: cannot rename the port's end %s", w.ifname, w.netns, inst.peer.Name)
		}
		pops, pwhat := repairPeer(w, *inst.peer)
		ops, what = append(ops, pops...), append(what, pwhat...)
		if inst.peer.Name != w.ifname {
			inst = downed(inst)
		}
	}
	if len(ops) > 0 {
		p.add(change{Verb: network.Update, Kind: kindPort, What: w.tap + ": " + strings.Join(what, ", "), Group: w.id, Ops: ops})
	}
	if w.configure {
		p.addresses(w, inst)
	}
	return nil
}

// downed is what remains of an instance end's configuration once it has
// been down (the kernel renames only devices that are down): its IPv4
// addresses. IPv6 addresses and routes through it are flushed.
func downed(v *instView) *instView {
	out := *v
	out.addrs = slices.DeleteFunc(slices.Clone(v.addrs), func(a netip.Prefix) bool { return a.Addr().Is6() })
	out.routes = nil
	return &out
}

func instErr(v *instView) error {
	if v == nil {
		return errdefs.NotFound("binding:profile.netns", "not opened")
	}
	return v.err
}

// free checks that a veth port's instance name is not taken by a device that
// is not its own end (that end goes with the host end being replaced).
func free(w portWant, inst *instView) error {
	if inst == nil || inst.named == nil || (inst.peer != nil && inst.named.Index == inst.peer.Index) {
		return nil
	}
	return errdefs.Conflict(w.ifname, "%s already has a device named %s that is not port %s's: left alone", w.netns, w.ifname, w.id)
}

func createOps(w portWant) []op {
	var ops []op
	if w.veth() {
		ops = append(ops, opVeth{w})
	} else {
		ops = append(ops, opTap{w})
	}
	if w.up {
		ops = append(ops, opUp{w.tap, true})
	}
	if !w.veth() {
		return ops
	}
	ops = append(ops, opPeerUp{w})
	for _, a := range w.addrs {
		ops = append(ops, opAddr{w: w, a: a, add: true})
	}
	for _, gw := range w.gateways {
		ops = append(ops, opRoute{w: w, gw: gw, add: true})
	}
	return ops
}

// mismatch says why the existing host device cannot serve w, or "".
func mismatch(w portWant, have hostDev, inst *instView) string {
	switch {
	case w.veth() && have.Kind != "veth":
		return "a " + have.Kind + ", not a veth"
	case !w.veth() && have.Kind != "tuntap":
		return "a " + have.Kind + ", not a tap"
	case !w.veth() && (!have.TapMode || have.MultiQueue):
		return "tun mode or multi-queue"
	case !w.veth():
		return ""
	case inst.peer == nil || inst.peer.PeerIndex != have.Index || inst.nsid < 0 || have.PeerNetNS != inst.nsid:
		return "peer missing from " + w.netns
	}
	return ""
}

func repairHost(w portWant, have hostDev, deleted map[string]bool) ([]op, []string) {
	var ops []op
	var what []string
	if have.MTU != w.mtu {
		ops, what = append(ops, opMTU{w.tap, w.mtu}), append(what, fmt.Sprintf("mtu %d -> %d", have.MTU, w.mtu))
	}
	if m := have.Master; m != w.bridge || deleted[m] {
		ops, what = append(ops, opMaster{w.tap, w.bridge}), append(what, fmt.Sprintf("master %s -> %s", cmp.Or(m, "none"), w.bridge))
	}
	if have.Up != w.up {
		state := map[bool]string{true: "up", false: "down"}[w.up]
		ops, what = append(ops, opUp{w.tap, w.up}), append(what, state)
	}
	return ops, what
}

func repairPeer(w portWant, peer instDev) ([]op, []string) {
	var ops []op
	var what []string
	if peer.Name != w.ifname {
		ops, what = append(ops, opPeerRename{w, peer.Name}), append(what, fmt.Sprintf("instance end %s -> %s", peer.Name, w.ifname))
	}
	if peer.MAC != w.mac {
		ops, what = append(ops, opPeerMAC{w}), append(what, fmt.Sprintf("%s mac %s -> %s", w.ifname, peer.MAC, w.mac))
	}
	if peer.MTU != w.mtu {
		ops, what = append(ops, opPeerMTU{w}), append(what, fmt.Sprintf("%s mtu %d -> %d", w.ifname, peer.MTU, w.mtu))
	}
	if !peer.Up {
		ops, what = append(ops, opPeerUp{w}), append(what, w.ifname+" up")
	}
	return ops, what
}

// addresses plans the fixed IPs and default routes of an existing veth port
// whose profile asks for them: stale ones go first.
func (p *planner) addresses(w portWant, inst *instView) {
	on := fmt.Sprintf(" on %s in %s", w.ifname, w.netns)
	for _, a := range inst.addrs {
		if !slices.Contains(w.addrs, a) {
			p.add(change{Verb: network.Delete, Kind: kindAddress, What: a.String() + on, Group: w.id, Ops: []op{opAddr{w: w, a: a}}})
		}
	}
	for _, gw := range inst.routes {
		if !slices.Contains(w.gateways, gw) {
			p.add(change{Verb: network.Delete, Kind: kindRoute, What: "default via " + gw.String() + on, Group: w.id, Ops: []op{opRoute{w: w, gw: gw}}})
		}
	}
	for _, a := range w.addrs {
		if !slices.Contains(inst.addrs, a) {
			p.add(change{Verb: network.Create, Kind: kindAddress, What: a.String() + on, Group: w.id, Ops: []op{opAddr{w: w, a: a, add: true}}})
		}
	}
	for _, gw := range w.gateways {
		if !slices.Contains(inst.routes, gw) {
			p.add(change{Verb: network.Create, Kind: kindRoute, What: "default via " + gw.String() + on, Group: w.id, Ops: []op{opRoute{w: w, gw: gw, add: true}}})
		}
	}
}
