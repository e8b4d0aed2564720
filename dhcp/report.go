package dhcp

import (
	"fmt"
	"sort"
	"strings"
)

// Report says what an Apply changed (or what a Plan would change), counted
// per kind: "namespace", "veth", "link", "address", "route", "sysctl",
// "server" (a running DHCP server), "reservation" (one port's leases),
// "subnet" (the options of one served subnet).
type Report struct {
	Created, Updated, Deleted map[string]int
	// Changes lists every mutation as a readable line, e.g.
	// "create namespace qdhcp-<id>", in the order they were (or would be) made.
	Changes []string
}

func newReport() *Report {
	return &Report{Created: map[string]int{}, Updated: map[string]int{}, Deleted: map[string]int{}}
}

// Mutations is the number of changes of every kind.
func (r *Report) Mutations() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, m := range []map[string]int{r.Created, r.Updated, r.Deleted} {
		for _, c := range m {
			n += c
		}
	}
	return n
}

func (r *Report) add(m map[string]int, verb, kind, format string, args ...any) {
	m[kind]++
	r.Changes = append(r.Changes, verb+" "+kind+" "+fmt.Sprintf(format, args...))
}

func (r *Report) create(kind, format string, args ...any) {
	r.add(r.Created, "create", kind, format, args...)
}

func (r *Report) update(kind, format string, args ...any) {
	r.add(r.Updated, "update", kind, format, args...)
}

func (r *Report) delete(kind, format string, args ...any) {
	r.add(r.Deleted, "delete", kind, format, args...)
}

// String summarises the counts, e.g. "created namespace=1 veth=1; updated reservation=2".
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
