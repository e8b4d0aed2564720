// Package report is the Report every realizer returns: what an Apply
// changed, or what a Plan would change, counted per kind of object, with a
// readable line per change. Each realizer package re-exports it
// (network.Report, router.Report, ...), so callers and agents handle every
// realizer's outcome the same way.
//
// # Kinds
//
// A kind names one kind of object, the same word in every realizer:
//
//	namespace   a named network namespace (qrouter-, qdhcp-)
//	link        a device we own that has no kind of its own below (a veth
//	            pair counts once; loopback brought up)
//	bridge, vxlan, vlan  devices of the network realizer
//	physical    a host interface we enslave but do not own
//	port        an instance port's device(s)
//	address     an IP address on a device
//	route       a kernel route, or a BGP path advertised
//	neigh, fdb  neighbour and forwarding entries
//	sysctl      one sysctl written
//	table, chain, set, rule, element, limit  nftables objects
//	qdisc       a root traffic-control qdisc (QoS shaping)
//	transaction one nftables commit (recorded as the objects it holds)
//	conntrack   the flows of one address deleted
//	garp        one address announced
//	na, ra      an IPv6 address announced; an interface's router
//	            advertisements started, changed or withdrawn
//	server, reservation, subnet  DHCP servers and what they serve
//	speaker, peer  BGP
//	listener    a socket an in-process server opened in a namespace
//	charon, ipsec-connection  a strongSwan daemon per router, and a site
//	            connection loaded into it
//	unfinished  a creation a crash interrupted, deleted
//
// The router realizer still says "nft-table", "nft-chain" and
// "nft-element" for table, chain and element: its NAT plan is being
// rewritten elsewhere and takes these names when it moves onto
// internal/converge.
package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The verbs of a change.
const (
	Create = "create"
	Update = "update"
	Delete = "delete"
)

// Report counts mutations per kind of object ("bridge", "link", "rule",
// "route", ...). A second Apply of the same desired state reports zero.
type Report struct {
	Created, Updated, Deleted map[string]int
	// Changes lists one line per change in the order they were (or would
	// be) made, e.g. "create bridge brq6a7c1e0f-2b".
	Changes []string
}

// The recording functions below are functions of this internal package,
// not methods: a Report's users read it (Mutations, String, the maps and
// Changes) and may Merge reports, but only realizers record into one.

// Add records one change in r: "verb kind what".
func Add(r *Report, verb, kind, what string) { AddN(r, verb, kind, 1, what) }

// AddN records a change of n objects of one kind (n elements of a set,
// say) as the line "verb kind what".
func AddN(r *Report, verb, kind string, n int, what string) {
	Record(r, verb, kind, n, verb+" "+kind+" "+what)
}

// Addf is Add with a formatted what.
func Addf(r *Report, verb, kind, format string, args ...any) {
	AddN(r, verb, kind, 1, fmt.Sprintf(format, args...))
}

// Record counts n changes of kind under verb and keeps line as it is. A
// change of zero objects is not recorded.
func Record(r *Report, verb, kind string, n int, line string) {
	if n == 0 {
		return
	}
	Count(r, verb, kind, n)
	r.Changes = append(r.Changes, line)
}

func (r *Report) counts(verb string) *map[string]int {
	switch verb {
	case Update:
		return &r.Updated
	case Delete:
		return &r.Deleted
	default:
		return &r.Created
	}
}

// Merge adds o's counts and changes to r.
func (r *Report) Merge(o *Report) {
	if o == nil {
		return
	}
	for _, verb := range []string{Create, Update, Delete} {
		src := *o.counts(verb)
		if len(src) == 0 {
			continue
		}
		dst := r.counts(verb)
		if *dst == nil {
			*dst = map[string]int{}
		}
		for k, v := range src {
			(*dst)[k] += v
		}
	}
	r.Changes = append(r.Changes, o.Changes...)
}

// Mutations is the number of changes made (or planned); 0 for nil.
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

// String summarizes the counts: "created chain=3 element=12; deleted rule=1",
// or "no changes".
func (r *Report) String() string {
	if r == nil {
		return "no changes"
	}
	var parts []string
	for _, x := range []struct {
		verb string
		m    map[string]int
	}{{"created", r.Created}, {"updated", r.Updated}, {"deleted", r.Deleted}} {
		if len(x.m) == 0 {
			continue
		}
		kv := make([]string, 0, len(x.m))
		for _, k := range slices.Sorted(maps.Keys(x.m)) {
			kv = append(kv, fmt.Sprintf("%s=%d", k, x.m[k]))
		}
		parts = append(parts, x.verb+" "+strings.Join(kv, " "))
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, "; ")
}

// Recordf records one change of kind under verb with a line formatted as
// given (no verb or kind prepended).
func Recordf(r *Report, verb, kind, format string, args ...any) {
	Record(r, verb, kind, 1, fmt.Sprintf(format, args...))
}

// Count counts n changes of kind under verb without a line of their own,
// for a change whose line the caller writes once for several counts.
func Count(r *Report, verb, kind string, n int) {
	if n == 0 {
		return
	}
	m := r.counts(verb)
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[kind] += n
}
