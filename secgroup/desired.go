package secgroup

import (
	"fmt"
	"sort"
	"strings"

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
}

// Report counts the mutations an Apply issued (or a Plan would issue), per
// kind: "table", "chain", "rule", "set", "element", "sysctl", "conntrack"
// (one per port and direction whose connections are cleared). Changes lists
// them as readable lines.
type Report struct {
	Created, Updated, Deleted map[string]int
	Changes                   []string
}

func newReport() *Report {
	return &Report{Created: map[string]int{}, Updated: map[string]int{}, Deleted: map[string]int{}}
}

// Mutations is the total number of mutations.
func (r *Report) Mutations() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, m := range []map[string]int{r.Created, r.Updated, r.Deleted} {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// String summarizes the counts ("created chain=3 element=12; deleted ...").
func (r *Report) String() string {
	var parts []string
	for _, x := range []struct {
		verb string
		m    map[string]int
	}{{"created", r.Created}, {"updated", r.Updated}, {"deleted", r.Deleted}} {
		if len(x.m) == 0 {
			continue
		}
		keys := make([]string, 0, len(x.m))
		for k := range x.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, fmt.Sprintf("%s=%d", k, x.m[k]))
		}
		parts = append(parts, x.verb+" "+strings.Join(kv, " "))
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, "; ")
}

func (r *Report) add(m map[string]int, kind string, n int, format string, args ...any) {
	if n == 0 {
		return
	}
	m[kind] += n
	r.Changes = append(r.Changes, fmt.Sprintf(format, args...))
}
