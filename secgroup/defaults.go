package secgroup

import "strings"

// DefaultGroupName is the name of the group Neutron creates for every project.
const DefaultGroupName = "default"

// DefaultGroup is Neutron's default security group with the given ID, as the
// seeded default-rule templates make it (NEUTRON.md §4.2): egress to anywhere
// for IPv4 and IPv6, and ingress only from members of the group itself
// (remote_group_id = the group) for IPv4 and IPv6. Members can therefore
// reach each other and the outside world, and nothing else can reach them.
//
// Rule IDs are derived from the group ID ("<id>-egress-ipv4", ...) so that
// the same group is described identically on every node and after every
// restart; Neutron gives its rules random UUIDs.
func DefaultGroup(id string) SecurityGroup {
	rule := func(direction, ethertype, remote string) Rule {
		return Rule{ID: id + "-" + direction + "-" + strings.ToLower(ethertype), SecurityGroupID: id, Direction: direction, Ethertype: ethertype, RemoteGroupID: remote}
	}
	return SecurityGroup{
		ID:   id,
		Name: DefaultGroupName,
		Rules: []Rule{
			rule(Egress, IPv4, ""),
			rule(Egress, IPv6, ""),
			rule(Ingress, IPv4, id),
			rule(Ingress, IPv6, id),
		},
	}
}

// Defaults fills what Neutron fills and the document may leave out: each
// rule's security_group_id, which is the group's ID. Stateful needs no
// filling (IsStateful reads nil as Neutron's true). Realizers never call it.
func Defaults(g *SecurityGroup) {
	for i := range g.Rules {
		if g.Rules[i].SecurityGroupID == "" {
			g.Rules[i].SecurityGroupID = g.ID
		}
	}
}
