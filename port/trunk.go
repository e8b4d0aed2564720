package port

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/network"
)

// OwnerTrunkSubport is the device_owner Neutron gives a trunk's sub-ports:
// they are plugged as VLAN sub-interfaces of their parent's device, never
// as devices of their own.
const OwnerTrunkSubport = "trunk:subport"

// Segmentation types of a sub-port.
const (
	SegmentationVLAN = "vlan"
	// SegmentationInherit takes the VLAN ID of the sub-port's network
	// (a VLAN provider network), as Neutron's inherit type does.
	SegmentationInherit = "inherit"
)

// Trunk is Neutron's trunk object (the top-level trunks collection). Its
// sub-ports must be those its parent port reports in trunk_details, which
// is what the port realizer reads.
type Trunk struct {
	ID           string    `json:"id"`
	Name         string    `json:"name,omitempty"`
	ProjectID    string    `json:"project_id,omitempty"`
	PortID       string    `json:"port_id"`
	AdminStateUp *bool     `json:"admin_state_up,omitempty"`
	SubPorts     []SubPort `json:"sub_ports,omitempty"`
}

// Validate checks the trunk on its own, with paths relative to it.
func (t *Trunk) Validate() error {
	var errs []error
	if t.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if t.PortID == "" {
		errs = append(errs, errdefs.Invalid("port_id", "required: the parent port"))
	}
	return errors.Join(append(errs, validateSubPorts("sub_ports", t.PortID, t.SubPorts))...)
}

// validateSubPorts checks a trunk's sub-ports: vlan or inherit, VLAN IDs
// 1-4094, no port or VLAN ID twice, the parent not among them (Neutron's
// trunk rules). path is the list's path.
func validateSubPorts(path, parent string, subs []SubPort) error {
	var errs []error
	ports, vids := map[string]int{}, map[int]int{}
	for k, s := range subs {
		sp := errdefs.Index(path, k)
		if s.PortID == "" {
			errs = append(errs, errdefs.Invalid(sp+".port_id", "required"))
		} else if s.PortID == parent {
			errs = append(errs, errdefs.Invalid(sp+".port_id", "%s is the trunk's parent port", s.PortID))
		} else if j, dup := ports[s.PortID]; dup {
			errs = append(errs, errdefs.Conflict(sp+".port_id", "%s repeats %s", s.PortID, errdefs.Index(path, j)))
		} else {
			ports[s.PortID] = k
		}
		switch s.SegmentationType {
		case SegmentationVLAN:
			if s.SegmentationID < 1 || s.SegmentationID > 4094 {
				errs = append(errs, errdefs.Invalid(sp+".segmentation_id", "%d is not a VLAN ID (1-4094)", s.SegmentationID))
			} else if j, dup := vids[s.SegmentationID]; dup {
				errs = append(errs, errdefs.Conflict(sp+".segmentation_id", "VLAN %d repeats %s's", s.SegmentationID, errdefs.Index(path, j)))
			} else {
				vids[s.SegmentationID] = k
			}
		case SegmentationInherit:
		default:
			errs = append(errs, errdefs.Invalid(sp+".segmentation_type", "%q: vlan or inherit", s.SegmentationType))
		}
	}
	return errors.Join(errs...)
}

// subWant is one sub-port as its host device: a VLAN sub-interface of the
// parent's device, in the sub-port network's bridge, with the sub-port's
// MAC.
type subWant struct {
	id, parentID    string
	dev, alias      string
	parent          string // the parent's device
	vid             int
	mac             string
	bridge, brAlias string
	mtu             int
	up              bool
}

func (s subWant) describe() string {
	return fmt.Sprintf("%s (vlan %d on %s, mac %s, bridge %s)", s.dev, s.vid, s.parent, s.mac, s.bridge)
}

// subNeeds derives the sub-ports of parent p (valid, at path) from its
// trunk_details; subs are the desired sub-port ports by ID.
func subNeeds(p Port, pw portWant, subs map[string]Port, nets map[string]network.Network) ([]subWant, error) {
	if p.TrunkDetails == nil || len(p.TrunkDetails.SubPorts) == 0 {
		return nil, nil
	}
	if err := validateSubPorts("trunk_details.sub_ports", p.ID, p.TrunkDetails.SubPorts); err != nil {
		return nil, err
	}
	var (
		out  []subWant
		errs []error
		vids = map[int]int{}
	)
	for k, s := range p.TrunkDetails.SubPorts {
		sp := errdefs.Index("trunk_details.sub_ports", k)
		sub, ok := subs[s.PortID]
		if !ok {
			errs = append(errs, errdefs.NotFound(sp+".port_id", "port %s is not among the desired ports (device_owner %s)", s.PortID, OwnerTrunkSubport))
			continue
		}
		n, ok := nets[sub.NetworkID]
		if !ok {
			errs = append(errs, errdefs.NotFound(sp+".port_id", "network %s of sub-port %s is not among the desired networks", sub.NetworkID, s.PortID))
			continue
		}
		vid := s.SegmentationID
		if s.SegmentationType == SegmentationInherit {
			if n.NetworkType != network.TypeVLAN || n.SegmentationID == 0 {
				errs = append(errs, errdefs.Invalid(sp+".segmentation_type", "inherit needs a VLAN network with a segmentation ID; network %s is %q", n.ID, n.NetworkType))
				continue
			}
			vid = n.SegmentationID
		}
		if j, dup := vids[vid]; dup {
			errs = append(errs, errdefs.Conflict(sp+".segmentation_id", "VLAN %d (inherited) repeats trunk_details.sub_ports[%d]'s", vid, j))
			continue
		}
		vids[vid] = k
		mac := sub.MACAddress
		if len(s.MACAddress) > 0 {
			mac = s.MACAddress
		}
		mtu := n.MTU
		if mtu > pw.mtu {
			errs = append(errs, errdefs.Invalid(sp+".port_id", "network %s's MTU %d exceeds the parent's %d", n.ID, n.MTU, pw.mtu))
			continue
		}
		out = append(out, subWant{id: s.PortID, parentID: p.ID, dev: naming.Tap(s.PortID), alias: naming.OwnerAlias(OwnerKind, s.PortID),
			parent: pw.tap, vid: vid, mac: mac.String(), bridge: naming.Bridge(n.ID), brAlias: naming.OwnerAlias(network.KindBridge, n.ID),
			mtu: mtu, up: pw.up && sub.Up()})
	}
	slices.SortFunc(out, func(a, b subWant) int { return strings.Compare(a.id, b.id) })
	return out, errors.Join(errs...)
}

// subport plans one sub-port's device: created when missing, re-created
// when it is not a VLAN of the parent with the right ID or MAC, and put
// into its bridge and state like any port.
func (p *planner) subport(w subWant) error {
	have := p.o.host[w.dev]
	if p.deleted[w.dev] {
		have = nil
	}
	if have != nil && have.Alias != w.alias {
		return errdefs.Conflict(w.dev, "a device named %s exists and is not this sub-port's (alias %q): left alone", w.dev, have.Alias)
	}
	switch br := p.o.host[w.bridge]; {
	case br == nil && p.dry:
	case br == nil:
		return errdefs.NotFound(w.bridge, "bridge %s does not exist: realize the sub-port's network first", w.bridge)
	case br.Alias != w.brAlias:
		return errdefs.Conflict(w.bridge, "bridge %s is not the network's (alias %q)", w.bridge, br.Alias)
	}
	create := []op{opVLAN{w}, opMaster{w.dev, w.bridge}}
	if w.up {
		create = append(create, opUp{w.dev, true})
	}
	if have == nil {
		p.add(change{Verb: network.Create, Kind: kindPort, What: w.describe(), Group: w.parentID, Ops: create})
		return nil
	}
	parent := p.o.host[w.parent]
	if have.Kind != "vlan" || have.VlanID != w.vid || parent == nil || have.ParentIndex != parent.Index || have.MAC != w.mac {
		p.add(change{Verb: network.Update, Kind: kindPort, What: w.dev + ": re-create (" + w.describe() + ")", Group: w.parentID,
			Ops: append([]op{opDel{w.dev}}, create...)})
		return nil
	}
	ops, what := repairHost(portWant{tap: w.dev, bridge: w.bridge, mtu: w.mtu, up: w.up}, *have, p.deleted)
	if len(ops) > 0 {
		p.add(change{Verb: network.Update, Kind: kindPort, What: w.dev + ": " + strings.Join(what, ", "), Group: w.parentID, Ops: ops})
	}
	return nil
}

// opVLAN creates a sub-port's VLAN sub-interface.
type opVLAN struct{ w subWant }

func (opVLAN) isOp() {}
