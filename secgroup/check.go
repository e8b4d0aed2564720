package secgroup

import (
	"errors"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/flowlog"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/port"
)

// Validate checks what the compiler relies on, with JSON paths relative to
// the Desired document: each group and address group (their own Validate),
// unique IDs, remote_group_id and remote_address_group_id naming given
// groups, and for the ports on this node: an ID, a network, a 48-bit MAC
// when filtered, security groups that exist and are all stateful or all
// stateless (Neutron's SecurityGroupConflict), and host device names that
// do not collide (two IDs sharing their first 11 characters).
func (d *Desired) Validate() error {
	var errs []error
	groups := make(map[string]int, len(d.Groups))
	for i := range d.Groups {
		g := &d.Groups[i]
		path := errdefs.Index("security_groups", i)
		if err := g.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
		}
		if j, dup := groups[g.ID]; dup && g.ID != "" {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats security_groups[%d]", g.ID, j))
		}
		groups[g.ID] = i
	}
	addrGroups := make(map[string]int, len(d.AddressGroups))
	for i := range d.AddressGroups {
		a := &d.AddressGroups[i]
		path := errdefs.Index("address_groups", i)
		if err := a.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
		}
		if j, dup := addrGroups[a.ID]; dup && a.ID != "" {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats address_groups[%d]", a.ID, j))
		}
		addrGroups[a.ID] = i
	}
	for i := range d.Groups {
		for j, r := range d.Groups[i].Rules {
			path := errdefs.Index("security_groups", i) + "." + errdefs.Index("security_group_rules", j)
			if _, ok := groups[r.RemoteGroupID]; r.RemoteGroupID != "" && !ok {
				errs = append(errs, errdefs.NotFound(path+".remote_group_id", "security group %s is not given", r.RemoteGroupID))
			}
			if _, ok := addrGroups[r.RemoteAddressGroupID]; r.RemoteAddressGroupID != "" && !ok {
				errs = append(errs, errdefs.NotFound(path+".remote_address_group_id", "address group %s is not given", r.RemoteAddressGroupID))
			}
		}
	}
	taps := make(map[string]int, len(d.Ports))
	for i := range d.Ports {
		p := &d.Ports[i]
		path := errdefs.Index("ports", i)
		errs = append(errs, errdefs.Prefix(path, d.checkPort(p, groups)))
		if p.ID == "" {
			continue
		}
		tap := naming.Tap(p.ID)
		if j, dup := taps[tap]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "port %s and ports[%d] (%s) share the device name %s", p.ID, j, d.Ports[j].ID, tap))
		}
		taps[tap] = i
	}
	errs = append(errs, ValidateLogs(d.Logs, d.Groups, d.Ports, d.Members))
	return errors.Join(errs...)
}

// ValidateLogs checks the security group logs among logs (paths
// logs[i]...; the others are passed over) as Neutron's sg_validate does:
// the log's own fields, resource_id naming a given group, target_id a
// given port, and with both, the port in that group.
func ValidateLogs(logs []Log, groups []SecurityGroup, portLists ...[]port.Port) error {
	var errs []error
	gs := make(map[string]bool, len(groups))
	for i := range groups {
		gs[groups[i].ID] = true
	}
	var ports map[string]*port.Port
	for i := range logs {
		l := &logs[i]
		path := errdefs.Index("logs", i)
		if l.ResourceType != flowlog.ResourceSecurityGroup {
			continue
		}
		if err := l.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		if l.ResourceID != "" && !gs[l.ResourceID] {
			errs = append(errs, errdefs.NotFound(path+".resource_id", "no security group %s", l.ResourceID))
		}
		if l.TargetID == "" {
			continue
		}
		if ports == nil {
			ports = map[string]*port.Port{}
			for _, ps := range portLists {
				for j := range ps {
					ports[ps[j].ID] = &ps[j]
				}
			}
		}
		p, ok := ports[l.TargetID]
		switch {
		case !ok:
			errs = append(errs, errdefs.NotFound(path+".target_id", "no port %s", l.TargetID))
		case l.ResourceID != "" && !slices.Contains(p.SecurityGroups, l.ResourceID):
			errs = append(errs, errdefs.Invalid(path+".target_id", "port %s is not in security group %s", l.TargetID, l.ResourceID))
		}
	}
	return errors.Join(errs...)
}

func (d *Desired) checkPort(p *port.Port, groups map[string]int) error {
	var errs []error
	if p.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if p.NetworkID == "" {
		errs = append(errs, errdefs.Invalid("network_id", "required"))
	}
	if !filtered(p) {
		return errors.Join(errs...)
	}
	if len(p.MACAddress) != 6 {
		errs = append(errs, errdefs.Invalid("mac_address", "a 48-bit MAC is required for port security"))
	}
	for i, pair := range p.AllowedAddressPairs {
		if !pair.IPAddress.IsValid() {
			errs = append(errs, errdefs.Invalid(errdefs.Index("allowed_address_pairs", i)+".ip_address", "required"))
		}
		if pair.MACAddress != nil && len(pair.MACAddress) != 6 {
			errs = append(errs, errdefs.Invalid(errdefs.Index("allowed_address_pairs", i)+".mac_address", "not a 48-bit MAC"))
		}
	}
	var stateful, stateless []string
	for i, id := range p.SecurityGroups {
		gi, ok := groups[id]
		if !ok {
			errs = append(errs, errdefs.NotFound(errdefs.Index("security_groups", i), "security group %s is not given", id))
			continue
		}
		if d.Groups[gi].IsStateful() {
			stateful = append(stateful, id)
		} else {
			stateless = append(stateless, id)
		}
	}
	if len(stateful) > 0 && len(stateless) > 0 {
		errs = append(errs, errdefs.Conflict("security_groups", "stateful groups (%s) and stateless groups (%s) cannot be mixed on one port",
			strings.Join(stateful, ", "), strings.Join(stateless, ", ")))
	}
	return errors.Join(errs...)
}

// filtered reports whether the node filters the port: port security on,
// and not one of Neutron's trusted ports (device_owner network:*, which
// the iptables driver accepts unconditionally).
func filtered(p *port.Port) bool {
	return p.SecurityEnabled() && !strings.HasPrefix(p.DeviceOwner, "network:")
}
