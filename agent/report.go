package agent

import (
	"fmt"

	"github.com/neutrino-net/neutrino/bgp"
	"github.com/neutrino-net/neutrino/dhcp"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/router"
	"github.com/neutrino-net/neutrino/secgroup"
	"maps"
	"slices"
	"strings"
)

// Step is what one realizer did (or would do) in an Apply.
type Step struct {
	Realizer                  string
	Created, Updated, Deleted map[string]int
	Changes                   []string
	Err                       error
}

// Mutations counts the step's kernel (or BGP) mutations.
func (s Step) Mutations() int {
	n := 0
	for _, m := range []map[string]int{s.Created, s.Updated, s.Deleted} {
		for _, v := range m {
			n += v
		}
	}
	return n
}

// Report is what the node's realizers did, in the order they ran.
type Report struct{ Steps []Step }

// Mutations counts every step's mutations.
func (r *Report) Mutations() int {
	n := 0
	for _, s := range r.Steps {
		n += s.Mutations()
	}
	return n
}

// String renders one line per realizer with its counts, e.g.
// "network  created bridge=2 vxlan=1".
func (r *Report) String() string {
	var b strings.Builder
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-9s %3d mutations", s.Realizer, s.Mutations())
		for _, part := range []struct {
			verb string
			m    map[string]int
		}{{"created", s.Created}, {"updated", s.Updated}, {"deleted", s.Deleted}} {
			if len(part.m) == 0 {
				continue
			}
			fmt.Fprintf(&b, "  %s", part.verb)
			for _, k := range slices.Sorted(maps.Keys(part.m)) {
				fmt.Fprintf(&b, " %s=%d", k, part.m[k])
			}
		}
		if s.Err != nil {
			fmt.Fprintf(&b, "  error: %v", s.Err)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// fromReport turns a realizer's Report into a Step. The realizers' Report
// types share one shape; the switch lists them.
func fromReport(name string, rep any, err error) Step {
	st := Step{Realizer: name, Err: err}
	switch r := rep.(type) {
	case *network.Report:
		if r == nil {
			break
		}
		st.Created, st.Updated, st.Deleted, st.Changes = r.Created, r.Updated, r.Deleted, r.Changes
	case *router.Report:
		if r == nil {
			break
		}
		st.Created, st.Updated, st.Deleted, st.Changes = r.Created, r.Updated, r.Deleted, r.Changes
	case *dhcp.Report:
		if r == nil {
			break
		}
		st.Created, st.Updated, st.Deleted, st.Changes = r.Created, r.Updated, r.Deleted, r.Changes
	case *secgroup.Report:
		if r == nil {
			break
		}
		st.Created, st.Updated, st.Deleted, st.Changes = r.Created, r.Updated, r.Deleted, r.Changes
	case *bgp.Report:
		if r == nil {
			break
		}
		st.Created, st.Updated, st.Deleted, st.Changes = r.Created, r.Updated, r.Deleted, r.Changes
	}
	return st
}
