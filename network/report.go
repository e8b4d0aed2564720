package network

import "fmt"

// Report says what an Apply changed, or what a Plan would change, counted per
// kind of kernel object: "bridge", "vxlan", "vlan", "physical" (a mapped
// interface we enslave but do not own), "fdb" and "neigh" for the network
// realizer; "port", "address" and "route" for the port realizer, which shares
// this type. A second Apply of the same desired state reports zero mutations.
type Report struct {
	Created map[string]int
	Updated map[string]int
	Deleted map[string]int
	// Changes lists one line per change in the order they were (or would
	// be) made, e.g. "create bridge brq6a7c1e0f-2b" or
	// "update vxlan vxlan-101: mtu 1500 -> 1450".
	Changes []string
}

// Verbs of Report.Add.
const (
	Create = "create"
	Update = "update"
	Delete = "delete"
)

// Mutations is the number of changes made (or planned).
func (r *Report) Mutations() int {
	n := 0
	for _, m := range []map[string]int{r.Created, r.Updated, r.Deleted} {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// Add records one change: verb is Create, Update or Delete, kind the kind of
// object and what names it (and says what changed, for an update). It is
// exported for the realizers that share this Report (package port).
func (r *Report) Add(verb, kind, what string) {
	m := &r.Created
	switch verb {
	case Update:
		m = &r.Updated
	case Delete:
		m = &r.Deleted
	}
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[kind]++
	r.Changes = append(r.Changes, fmt.Sprintf("%s %s %s", verb, kind, what))
}
