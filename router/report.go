package router

import "fmt"

// Report says what an Apply changed, or what a Plan would change, counted per
// kind of kernel object: "namespace", "link" (a veth pair counts once),
// "addr", "route", "sysctl", "nft-table", "nft-chain" (its rules rewritten),
// "nft-element" (one element of one map), "conntrack" (flows of one
// address) and "garp" (one address announced). A second Apply of the same
// desired state reports zero mutations.
type Report struct {
	Created map[string]int
	Updated map[string]int
	Deleted map[string]int
	// Changes lists one line per change, e.g. "create link qr-1a2b3c4d5e6 in
	// qrouter-…", in the order they were (or would be) made.
	Changes []string
}

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

// verb is the kind of a change.
type verb int

const (
	create verb = iota
	update
	remove
)

func (v verb) String() string {
	return [...]string{"create", "update", "delete"}[v]
}

// add records one change of kind made n times (n elements of a set, say).
func (r *Report) add(v verb, kind string, n int, what string) {
	m := &r.Created
	switch v {
	case update:
		m = &r.Updated
	case remove:
		m = &r.Deleted
	}
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[kind] += n
	r.Changes = append(r.Changes, fmt.Sprintf("%s %s %s", v, kind, what))
}

// merge adds o's counts and changes to r.
func (r *Report) merge(o *Report) {
	for _, p := range []struct {
		dst *map[string]int
		src map[string]int
	}{
		{&r.Created, o.Created}, {&r.Updated, o.Updated}, {&r.Deleted, o.Deleted},
	} {
		for k, v := range p.src {
			if *p.dst == nil {
				*p.dst = map[string]int{}
			}
			(*p.dst)[k] += v
		}
	}
	r.Changes = append(r.Changes, o.Changes...)
}
