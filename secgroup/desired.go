package secgroup

import (
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/port"
)

// Desired is what the security-group realizer makes one node enforce.
type Desired struct {
	// Groups are the security groups that ports reference, with their
	// rules, and every group a rule names as remote_group_id.
	Groups []SecurityGroup
	// AddressGroups are the address groups rules name as
	// remote_address_group_id.
	AddressGroups []AddressGroup
	// Ports are the ports bound to this node. Each is filtered at its host
	// device tap<port-id[:11]>, whoever created it (port, router or dhcp
	// realizer). Ports with port_security_enabled=false and Neutron's
	// trusted ports (device_owner network:*) are not filtered.
	Ports []port.Port
	// Members are ports bound to other nodes. Only their addresses
	// (fixed_ips and allowed_address_pairs) and security_groups are read:
	// they are the members of remote groups.
	Members []port.Port
	// Logs are Neutron network logs. Those of resource_type
	// security_group are realized (log rules before the accept of each
	// rule of the logged groups, and before the default drop, for the
	// logged ports on this node); the others are passed over.
	Logs []Log
}

// Report counts the mutations an Apply issued (or a Plan would issue), per
// kind: "table", "chain", "rule", "set", "element", "sysctl", "conntrack"
// (one per port and direction whose connections are cleared). Changes lists
// them as readable lines. Every realizer returns this same type.
type Report = report.Report
