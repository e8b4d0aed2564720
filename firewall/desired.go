package firewall

import (
	"errors"
	"fmt"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

// Desired is the firewall state of one node. Its JSON names are the
// Topology's collection names, so validation paths read the same in both.
type Desired struct {
	FirewallGroups   []Group  `json:"firewall_groups,omitempty"`
	FirewallPolicies []Policy `json:"firewall_policies,omitempty"`
	FirewallRules    []Rule   `json:"firewall_rules,omitempty"`
	Logs             []Log    `json:"logs,omitempty"`
	// Ports holds every port the groups and logs name. Router ports
	// (device_owner network:router_interface or network:router_gateway)
	// are filtered in their router's namespace, <prefix>qrouter-<device_id>,
	// which the router realizer made; instance ports (compute:*) in the
	// host namespace, on their network's bridge.
	Ports []port.Port `json:"ports,omitempty"`
}

// index holds the objects of a valid Desired by ID.
type index struct {
	rules    map[string]*Rule
	policies map[string]*Policy
	ports    map[string]*port.Port
	groupOf  map[string]*Group // port ID -> its group
	groups   map[string]*Group
}

// Validate checks every object and the references between them, naming
// each problem's path: policies name existing rules and a rule is in one
// policy at most (Neutron's firewall_policy_id), groups name existing
// policies and ports, a port is in one group at most, ports are router
// ports or instance ports with addresses, logs name an existing group and port, the port in that group.
func (d *Desired) Validate() error {
	_, err := d.index()
	return err
}

func (d *Desired) index() (*index, error) {
	x := &index{rules: map[string]*Rule{}, policies: map[string]*Policy{}, ports: map[string]*port.Port{},
		groupOf: map[string]*Group{}, groups: map[string]*Group{}}
	var errs []error
	for i := range d.Ports {
		x.ports[d.Ports[i].ID] = &d.Ports[i]
	}
	for i := range d.FirewallRules {
		r := &d.FirewallRules[i]
		path := errdefs.Index("firewall_rules", i)
		if err := r.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
		}
		if _, dup := x.rules[r.ID]; dup && r.ID != "" {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats an earlier firewall rule", r.ID))
			continue
		}
		x.rules[r.ID] = r
	}
	ruleIn := map[string]string{}
	for i := range d.FirewallPolicies {
		p := &d.FirewallPolicies[i]
		path := errdefs.Index("firewall_policies", i)
		if err := p.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
		}
		if _, dup := x.policies[p.ID]; dup && p.ID != "" {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats an earlier firewall policy", p.ID))
			continue
		}
		x.policies[p.ID] = p
		for j, id := range p.Rules {
			rp := fmt.Sprintf("%s.firewall_rules[%d]", path, j)
			if _, ok := x.rules[id]; !ok && id != "" {
				errs = append(errs, errdefs.NotFound(rp, "no firewall rule %s", id))
			}
			if other, taken := ruleIn[id]; taken && other != p.ID {
				errs = append(errs, errdefs.Conflict(rp, "rule %s is already in firewall policy %s (a rule belongs to one policy)", id, other))
			}
			ruleIn[id] = p.ID
		}
	}
	for i := range d.FirewallGroups {
		g := &d.FirewallGroups[i]
		path := errdefs.Index("firewall_groups", i)
		if err := g.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
		}
		if _, dup := x.groups[g.ID]; dup && g.ID != "" {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats an earlier firewall group", g.ID))
			continue
		}
		x.groups[g.ID] = g
		for _, f := range []struct{ field, id string }{
			{"ingress_firewall_policy_id", g.IngressPolicyID}, {"egress_firewall_policy_id", g.EgressPolicyID}} {
			if _, ok := x.policies[f.id]; f.id != "" && !ok {
				errs = append(errs, errdefs.NotFound(path+"."+f.field, "no firewall policy %s", f.id))
			}
		}
		for j, id := range g.Ports {
			pp := fmt.Sprintf("%s.ports[%d]", path, j)
			p, ok := x.ports[id]
			switch {
			case id == "":
				continue // reported by the group
			case !ok:
				errs = append(errs, errdefs.NotFound(pp, "no port %s", id))
				continue
			case p.IsInstance() && len(portAddrs(p)) == 0:
				errs = append(errs, errdefs.Invalid(pp, "instance port %s has no fixed IP or address pair to filter by", id))
				continue
			case p.IsInstance():
			case !p.IsRouterPort():
				errs = append(errs, errdefs.Invalid(pp, "port %s is a %q port: a firewall group protects router and instance ports", id, p.DeviceOwner))
				continue
			case p.DeviceID == "":
				errs = append(errs, errdefs.Invalid(pp, "router port %s has no device_id (its router)", id))
				continue
			}
			if other, taken := x.groupOf[id]; taken && other != g {
				errs = append(errs, errdefs.Conflict(pp, "port %s is already in firewall group %s (a port belongs to one group)", id, other.ID))
				continue
			}
			x.groupOf[id] = g
		}
	}
	for i := range d.Logs {
		errs = append(errs, x.checkLog(&d.Logs[i], errdefs.Index("logs", i)))
	}
	return x, errors.Join(flatten(errs)...)
}

// flatten lifts the errors of errors.Join trees to one level, so that the
// result reads like every other Validate's: one error per problem.
func flatten(errs []error) []error {
	var out []error
	for _, e := range errs {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			out = append(out, flatten(j.Unwrap())...)
		} else if e != nil {
			out = append(out, e)
		}
	}
	return out
}

func (x *index) checkLog(l *Log, path string) error {
	if l.ResourceType == ResourceSecurityGroup {
		return nil // the security group realizer's (secgroup.ValidateLogs)
	}
	if err := l.Validate(); err != nil {
		return errdefs.Prefix(path, err)
	}
	var errs []error
	if l.ResourceID != "" {
		if _, ok := x.groups[l.ResourceID]; !ok {
			errs = append(errs, errdefs.NotFound(path+".resource_id", "no firewall group %s", l.ResourceID))
		}
	}
	if l.TargetID != "" {
		g, inGroup := x.groupOf[l.TargetID]
		switch _, ok := x.ports[l.TargetID]; {
		case !ok:
			errs = append(errs, errdefs.NotFound(path+".target_id", "no port %s", l.TargetID))
		case l.ResourceID != "" && (!inGroup || g.ID != l.ResourceID):
			errs = append(errs, errdefs.Invalid(path+".target_id", "port %s is not in firewall group %s", l.TargetID, l.ResourceID))
		}
	}
	return errors.Join(errs...)
}
