package qos

import (
	"errors"
	"fmt"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
)

// Desired is the QoS of one node's instance ports.
type Desired struct {
	// Policies holds (at least) the policies the ports and networks name.
	Policies []Policy `json:"qos_policies,omitempty"`
	// Ports are the instance ports bound to this node (others are
	// ignored), as given to the port realizer.
	Ports []port.Port `json:"ports,omitempty"`
	// Networks holds (at least) the ports' networks, for their
	// qos_policy_id.
	Networks []network.Network `json:"networks,omitempty"`
}

// portWant is the QoS of one port's host-side device.
type portWant struct {
	PortID, Tap, Policy string
	// Shape is the limit toward the instance (tbf), Police the limit from
	// it (nftables limit); nil for none.
	Shape, Police *BandwidthLimitRule
	// DSCP is the mark of the instance's packets, -1 for none.
	DSCP int
}

// want is a validated Desired: the ports with a policy, by device name.
type want struct {
	ports map[string]*portWant
	// unenforced are the minimum bandwidth guarantees, as sentences.
	unenforced []string
}

// policyOf returns the port's policy ID: its own, else its network's.
func policyOf(p *port.Port, nets map[string]*network.Network) string {
	if p.QoSPolicyID != "" {
		return p.QoSPolicyID
	}
	if n := nets[p.NetworkID]; n != nil {
		return n.QoSPolicyID
	}
	return ""
}

func (d *Desired) validate() (*want, error) {
	var errs []error
	pols := make(map[string]int, len(d.Policies))
	for i := range d.Policies {
		p := &d.Policies[i]
		path := errdefs.Index("qos_policies", i)
		if err := p.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
		}
		if j, dup := pols[p.ID]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats qos_policies[%d]", p.ID, j))
		}
		pols[p.ID] = i
	}
	nets := make(map[string]*network.Network, len(d.Networks))
	netPos := make(map[string]int, len(d.Networks))
	for i := range d.Networks {
		nets[d.Networks[i].ID], netPos[d.Networks[i].ID] = &d.Networks[i], i
	}
	w := &want{ports: map[string]*portWant{}}
	for i := range d.Ports {
		p := &d.Ports[i]
		if !p.PlugsInstance() {
			continue
		}
		id := policyOf(p, nets)
		if id == "" {
			continue
		}
		path := errdefs.Index("ports", i) + ".qos_policy_id"
		if p.QoSPolicyID == "" {
			path = errdefs.Index("networks", netPos[p.NetworkID]) + ".qos_policy_id"
		}
		j, ok := pols[id]
		if !ok {
			errs = append(errs, errdefs.NotFound(path, "QoS policy %s is not in qos_policies", id))
			continue
		}
		pol := &d.Policies[j]
		pw := &portWant{PortID: p.ID, Tap: naming.Tap(p.ID), Policy: id, DSCP: -1}
		for k := range pol.BandwidthLimitRules {
			r := pol.BandwidthLimitRules[k]
			if r.Dir() == Ingress {
				pw.Shape = &r
			} else {
				pw.Police = &r
			}
		}
		if len(pol.DSCPMarkingRules) > 0 {
			pw.DSCP = pol.DSCPMarkingRules[0].DSCPMark
		}
		for _, r := range pol.MinimumBandwidthRules {
			dir := r.Direction
			if dir == "" {
				dir = Egress
			}
			w.unenforced = append(w.unenforced, fmt.Sprintf("port %s: QoS policy %s guarantees %s %d kbps: minimum bandwidth is reported, not enforced", p.ID, id, dir, r.MinKbps))
		}
		if pw.Shape != nil || pw.Police != nil || pw.DSCP >= 0 {
			w.ports[pw.Tap] = pw
		}
	}
	slices.Sort(w.unenforced)
	return w, errors.Join(errs...)
}

// Unenforced returns the minimum bandwidth guarantees of d's ports, one
// sentence each: Neutrino, like Neutron's Linux bridge agent, reports them
// and does not enforce them.
func (d *Desired) Unenforced() []string {
	w, _ := d.validate()
	if w == nil {
		return nil
	}
	return w.unenforced
}
