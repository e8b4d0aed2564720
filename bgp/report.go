package bgp

import (
	"errors"
	"fmt"
)

// Report counts the mutations an Apply issued (or a Plan would issue), per
// kind: "speaker" (the BGP global: AS and router ID), "peer" and "route".
// Changes lists them as readable lines, e.g. "advertise 192.0.2.0/24 via
// 198.18.0.10".
type Report struct {
	Created map[string]int
	Updated map[string]int
	Deleted map[string]int
	Changes []string
}

// Mutations is the total number of mutations in the report.
func (r *Report) Mutations() int {
	n := 0
	for _, m := range []map[string]int{r.Created, r.Updated, r.Deleted} {
		for _, c := range m {
			n += c
		}
	}
	return n
}

func (r *Report) created(kind, format string, args ...any) {
	r.Created = bump(r.Created, kind)
	r.Changes = append(r.Changes, fmt.Sprintf(format, args...))
}

func (r *Report) updated(kind, format string, args ...any) {
	r.Updated = bump(r.Updated, kind)
	r.Changes = append(r.Changes, fmt.Sprintf(format, args...))
}

func (r *Report) deleted(kind, format string, args ...any) {
	r.Deleted = bump(r.Deleted, kind)
	r.Changes = append(r.Changes, fmt.Sprintf(format, args...))
}

// merge adds o's counts and changes to r.
func (r *Report) merge(o Report) {
	for k, v := range o.Created {
		r.Created = bumpBy(r.Created, k, v)
	}
	for k, v := range o.Updated {
		r.Updated = bumpBy(r.Updated, k, v)
	}
	for k, v := range o.Deleted {
		r.Deleted = bumpBy(r.Deleted, k, v)
	}
	r.Changes = append(r.Changes, o.Changes...)
}

func bump(m map[string]int, kind string) map[string]int { return bumpBy(m, kind, 1) }

func bumpBy(m map[string]int, kind string, n int) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[kind] += n
	return m
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
