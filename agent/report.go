package agent

import (
	"fmt"

	"github.com/neutrino-net/neutrino/network"
	"maps"
	"slices"
	"strings"
)

// Step is what one realizer did (or would do) in an Apply: its Report
// (counts per kind, Mutations, Changes) and its error.
type Step struct {
	Realizer string
	network.Report
	Err error
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

// fromReport turns a realizer's Report into a Step; every realizer returns
// the same Report type.
func fromReport(name string, rep *network.Report, err error) Step {
	st := Step{Realizer: name, Err: err}
	if rep != nil {
		st.Report = *rep
	}
	return st
}
