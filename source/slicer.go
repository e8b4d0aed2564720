package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"

	"github.com/neutrino-net/neutrino"
)

// Slicer keeps one host's slice (Topology.ForHost) current across
// snapshots. With a Delta it re-slices only when a change can concern the
// host, so a change to one host's port costs the other hosts a look at the
// changed object, not a pass over the document.
//
// A change concerns the host when the object is in its slice (modified or
// deleted), when it is a host (every slice lists every host), or when its
// JSON mentions one of the slice's anchors, the IDs through which an object
// enters a slice (ForHost): the host's name (binding:host_id), its
// networks (their ports, subnets, routers' gateways, floating IPs), its
// routers (their ports and floating IPs) and the remote groups of its rules
// (their members). The test errs on the side of re-slicing: an unrelated
// field that happens to hold an anchor costs a re-slice, never a missed
// change.
type Slicer struct {
	host    string
	slice   *neutrino.Topology
	ids     map[string]bool // every object in slice but hosts
	anchors map[string]bool
}

// NewSlicer returns a Slicer for host with an empty slice.
func NewSlicer(host string) *Slicer {
	return &Slicer{host: host, slice: &neutrino.Topology{}, ids: map[string]bool{}, anchors: map[string]bool{host: true}}
}

// Slice returns the current slice (read-only).
func (s *Slicer) Slice() *neutrino.Topology { return s.slice }

// Update brings the slice to snap and reports whether it was recomputed.
// A host that is in neither hosts nor any port's binding has an empty
// slice.
func (s *Slicer) Update(snap *Snapshot) (changed bool, err error) {
	if snap.Delta != nil && !s.concerned(snap.Delta) {
		return false, nil
	}
	slice, err := snap.Topology().ForHostIndexed(snap.Index(), s.host)
	switch {
	case errors.Is(err, neutrino.ErrNotFound):
		slice = &neutrino.Topology{}
	case err != nil:
		return false, err
	}
	s.slice = slice
	s.ids = idsOf(slice)
	s.anchors = anchorsOf(slice, s.host)
	return true, nil
}

func (s *Slicer) concerned(d *Delta) bool {
	for _, c := range d.Changes {
		// Every slice carries every host, for its tunnel address.
		if c.Collection == "hosts" || s.ids[c.ID] || c.Value != nil && mentions(c.Value, s.anchors) {
			return true
		}
	}
	return false
}

// mentions reports whether any string in the JSON value is in ids.
func mentions(value []byte, ids map[string]bool) bool {
	dec := json.NewDecoder(bytes.NewReader(value))
	for {
		tok, err := dec.Token()
		if err != nil {
			return !errors.Is(err, io.EOF) // malformed: re-slice to be safe
		}
		if str, ok := tok.(string); ok && ids[str] {
			return true
		}
	}
}

// idsOf collects the IDs of every object in t but its hosts, whose
// changes concern every slice anyway.
func idsOf(t *neutrino.Topology) map[string]bool {
	ids := map[string]bool{}
	tv := reflect.ValueOf(t).Elem()
	for i := range tv.NumField() {
		s := tv.Field(i)
		if s.Kind() != reflect.Slice || s.Type().Elem() == reflect.TypeFor[neutrino.Host]() {
			continue
		}
		for j := range s.Len() {
			if id := idOf(s.Index(j)); id != "" {
				ids[id] = true
			}
		}
	}
	return ids
}

// anchorsOf returns the IDs through which an object enters t, host's slice.
func anchorsOf(t *neutrino.Topology, host string) map[string]bool {
	a := map[string]bool{host: true}
	for _, n := range t.Networks {
		a[n.ID] = true
	}
	for _, r := range t.Routers {
		a[r.ID] = true
	}
	for _, g := range t.SecurityGroups {
		for _, r := range g.Rules {
			if r.RemoteGroupID != "" {
				a[r.RemoteGroupID] = true
			}
		}
	}
	return a
}
