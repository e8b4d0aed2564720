package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Objects is a set of Neutron objects, one per Ref, from which a validated
// Topology is assembled: what a key-value store holds, one object per key.
// Collections are assembled in ID order. Assembling is a pass over every
// object: done when asked (Topology, Unvalidated), never per change.
//
// Objects is not safe for concurrent use.
type Objects struct {
	defaults bool
	cache    *Cache
	name     func(Ref) string
	colls    map[string]*collection
	order    []*collection // Topology field order
	bad      map[Ref]error // objects that do not decode, by ref
}

type collection struct {
	name  string
	field int          // index of the field in Topology
	elem  reflect.Type // element type, e.g. port.Port
	ids   []string     // sorted
	objs  map[string]reflect.Value
}

// ObjectsOption configures Objects.
type ObjectsOption func(*Objects)

// WithDefaults applies Neutron's defaults (Topology.Defaults) to each object
// as it is decoded, as node-agent's --apply-defaults does for a file.
func WithDefaults(on bool) ObjectsOption { return func(o *Objects) { o.defaults = on } }

// WithCache shares decoded objects with the other Objects of the process
// that use c.
func WithCache(c *Cache) ObjectsOption { return func(o *Objects) { o.cache = c } }

// WithNames sets how errors name an object: by default "ports/<id>"; the
// etcd source names its key.
func WithNames(name func(Ref) string) ObjectsOption { return func(o *Objects) { o.name = name } }

// NewObjects returns an empty set.
func NewObjects(opts ...ObjectsOption) *Objects {
	o := &Objects{name: Ref.String, colls: map[string]*collection{}, bad: map[Ref]error{}}
	for _, opt := range opts {
		opt(o)
	}
	t := reflect.TypeFor[neutrino.Topology]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Type.Kind() != reflect.Slice || name == "" || name == "-" {
			continue
		}
		c := &collection{name: name, field: i, elem: f.Type.Elem(), objs: map[string]reflect.Value{}}
		o.colls[name] = c
		o.order = append(o.order, c)
	}
	return o
}

// Collections returns the JSON names of the Topology's collections, in
// document order.
func (o *Objects) Collections() []string {
	names := make([]string, len(o.order))
	for i, c := range o.order {
		names[i] = c.name
	}
	return names
}

// Len returns the number of objects held, good or bad.
func (o *Objects) Len() int {
	n := len(o.bad)
	for _, c := range o.order {
		n += len(c.ids)
	}
	return n
}

// Put records value as the object ref. An object that does not decode, or
// whose ID is not ref's, is held as bad: Topology fails, naming it, until it
// is replaced or deleted. The returned error is that problem.
func (o *Objects) Put(ref Ref, value []byte) error {
	c := o.colls[ref.Collection]
	if c == nil {
		err := fmt.Errorf("%s: unknown collection %q: %w", o.name(ref), ref.Collection, neutrino.ErrInvalid)
		o.bad[ref] = err
		return err
	}
	v, err := o.decode(c, ref, value)
	if err != nil {
		o.remove(c, ref.ID)
		o.bad[ref] = err
		return err
	}
	delete(o.bad, ref)
	if _, ok := c.objs[ref.ID]; !ok {
		i, _ := slices.BinarySearch(c.ids, ref.ID)
		c.ids = slices.Insert(c.ids, i, ref.ID)
	}
	c.objs[ref.ID] = v
	return nil
}

// Delete forgets the object ref, good or bad.
func (o *Objects) Delete(ref Ref) {
	delete(o.bad, ref)
	if c := o.colls[ref.Collection]; c != nil {
		o.remove(c, ref.ID)
	}
}

// Reset forgets every object.
func (o *Objects) Reset() {
	clear(o.bad)
	for _, c := range o.order {
		c.ids = nil
		clear(c.objs)
	}
}

func (o *Objects) remove(c *collection, id string) {
	if _, ok := c.objs[id]; !ok {
		return
	}
	delete(c.objs, id)
	i, _ := slices.BinarySearch(c.ids, id)
	c.ids = slices.Delete(c.ids, i, i+1)
}

// decode reads one object through neutrino.Load, so that a malformed field
// is reported exactly as in a file, with the object's name in front of the
// path instead of "ports[0]".
func (o *Objects) decode(c *collection, ref Ref, value []byte) (reflect.Value, error) {
	if o.cache == nil {
		return o.decodeOne(c, ref, value)
	}
	return o.cache.decode(ref, value, o.defaults, func() (reflect.Value, error) { return o.decodeOne(c, ref, value) })
}

func (o *Objects) decodeOne(c *collection, ref Ref, value []byte) (reflect.Value, error) {
	var probe any
	if err := json.Unmarshal(value, &probe); err != nil {
		return reflect.Value{}, fmt.Errorf("%s: %w", o.name(ref), errdefs.Invalid("", "not JSON: %v", err))
	}
	if _, ok := probe.(map[string]any); !ok {
		return reflect.Value{}, fmt.Errorf("%s: %w", o.name(ref), errdefs.Invalid("", "want a JSON object"))
	}
	var doc bytes.Buffer
	doc.WriteString(`{"` + c.name + `":[`)
	doc.Write(value)
	doc.WriteString(`]}`)
	t, err := neutrino.Load(&doc)
	if err != nil {
		return reflect.Value{}, o.rename(ref, c.name+"[0]", err)
	}
	if o.defaults {
		t.Defaults()
	}
	s := reflect.ValueOf(t).Elem().Field(c.field)
	if s.Len() != 1 {
		return reflect.Value{}, fmt.Errorf("%s: %w", o.name(ref), errdefs.Invalid("", "want one object"))
	}
	v := s.Index(0)
	if id := idOf(v); id != ref.ID {
		field := "id"
		if c.name == "hosts" {
			field = "name"
		}
		return reflect.Value{}, fmt.Errorf("%s: %w", o.name(ref), errdefs.Invalid(field, "%q, but the key names %q", id, ref.ID))
	}
	return v, nil
}

// rename rewrites the document paths of err that start with path (the
// object's place in a document) to name ref instead.
func (o *Objects) rename(ref Ref, path string, err error) error {
	var fe *errdefs.FieldError
	if !errors.As(err, &fe) {
		return fmt.Errorf("%s: %w", o.name(ref), err)
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(fe.Path, path), ".")
	return fmt.Errorf("%s: %w", o.name(ref), &errdefs.FieldError{Path: rest, Msg: fe.Msg, Kind: fe.Kind})
}

// idOf returns the "id" field of a model, or "name" for hosts.
func idOf(v reflect.Value) string {
	for _, key := range []string{"id", "name"} {
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			if name == key && v.Field(i).Kind() == reflect.String {
				return v.Field(i).String()
			}
		}
	}
	return ""
}

// Topology assembles the objects into a document and validates it. Errors
// name the objects' keys: every object that does not decode, or every
// problem Validate finds, with the path of the field inside the object.
func (o *Objects) Topology() (*neutrino.Topology, error) {
	if len(o.bad) > 0 {
		refs := make([]Ref, 0, len(o.bad))
		for r := range o.bad {
			refs = append(refs, r)
		}
		slices.SortFunc(refs, func(a, b Ref) int { return strings.Compare(a.String(), b.String()) })
		errs := make([]error, len(refs))
		for i, r := range refs {
			errs[i] = o.bad[r]
		}
		return nil, errors.Join(errs...)
	}
	t := o.assemble()
	if err := t.Validate(); err != nil {
		return nil, o.renameAll(err)
	}
	return t, nil
}

// Unvalidated assembles the objects without validating them, leaving out
// those that do not decode: for a writer that merges a change set into
// what it read before validating the result.
func (o *Objects) Unvalidated() *neutrino.Topology { return o.assemble() }

func (o *Objects) assemble() *neutrino.Topology {
	t := new(neutrino.Topology)
	tv := reflect.ValueOf(t).Elem()
	for _, c := range o.order {
		if len(c.ids) == 0 {
			continue
		}
		s := reflect.MakeSlice(reflect.SliceOf(c.elem), len(c.ids), len(c.ids))
		for i, id := range c.ids {
			s.Index(i).Set(c.objs[id])
		}
		tv.Field(c.field).Set(s)
	}
	return t
}

// renameAll rewrites Validate's document paths ("ports[3].fixed_ips[0]")
// into the objects' names, keeping the joined shape.
func (o *Objects) renameAll(err error) error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		var fe *errdefs.FieldError
		if !errors.As(e, &fe) {
			out = append(out, e)
			continue
		}
		ref, head, ok := o.refAt(fe.Path)
		if !ok {
			out = append(out, e)
			continue
		}
		out = append(out, o.rename(ref, head, fe))
	}
	return errors.Join(out...)
}

// refAt finds the object a document path starts with: "ports[3].x" is the
// fourth port in ID order.
func (o *Objects) refAt(path string) (Ref, string, bool) {
	open := strings.IndexByte(path, '[')
	end := strings.IndexByte(path, ']')
	if open < 0 || end < open {
		return Ref{}, "", false
	}
	c := o.colls[path[:open]]
	i, err := strconv.Atoi(path[open+1 : end])
	if c == nil || err != nil || i < 0 || i >= len(c.ids) {
		return Ref{}, "", false
	}
	return Ref{Collection: c.name, ID: c.ids[i]}, path[:end+1], true
}

// Split returns every object of t as its Ref and Neutron JSON: what a
// writer stores, one key per object.
func Split(t *neutrino.Topology) (map[Ref]json.RawMessage, error) {
	out := map[Ref]json.RawMessage{}
	tv := reflect.ValueOf(t).Elem()
	for i := range tv.NumField() {
		name, _, _ := strings.Cut(tv.Type().Field(i).Tag.Get("json"), ",")
		s := tv.Field(i)
		if s.Kind() != reflect.Slice || name == "" || name == "-" {
			continue
		}
		for j := range s.Len() {
			id := idOf(s.Index(j))
			if id == "" {
				return nil, errdefs.Invalid(errdefs.Index(name, j), "an object without id cannot be stored")
			}
			ref := Ref{Collection: name, ID: id}
			if _, dup := out[ref]; dup {
				return nil, errdefs.Conflict(errdefs.Index(name, j), "id %s is used twice", id)
			}
			b, err := json.Marshal(s.Index(j).Interface())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			out[ref] = b
		}
	}
	return out, nil
}
