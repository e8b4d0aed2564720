package neutrino

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Load reads a Topology from JSON. Keys the models do not know are ignored,
// as Neutron API responses carry many. A malformed known field is an error
// wrapping ErrInvalid that names the field's path in the document
// ("subnets[2].allocation_pools[0].start: ..."); a syntax error names the
// line and column. Load neither applies defaults nor validates: call
// Defaults (if wanted) and Validate.
func Load(r io.Reader) (*Topology, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("neutrino: reading topology: %w", err)
	}
	return decode(b)
}

// LoadFile is Load of the named file; errors name the file.
func LoadFile(path string) (*Topology, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("neutrino: %w", err)
	}
	t, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func decode(b []byte) (*Topology, error) {
	t := new(Topology)
	err := json.Unmarshal(b, t)
	if err == nil {
		return t, nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(b, syn.Offset)
		return nil, errdefs.Invalid("", "line %d, column %d: %v", line, col, syn)
	}
	path := locate(b, reflect.TypeFor[Topology](), "")
	if path == "" {
		return nil, errdefs.Invalid("", "topology: %s", describe(err, ""))
	}
	return nil, errdefs.Invalid(path, "%s", describe(err, path))
}

// describe words a decoding error without Go type paths, and without the
// field name when the error repeats what the path says.
func describe(err error, path string) string {
	var ute *json.UnmarshalTypeError
	var fe *errdefs.FieldError
	msg := err.Error()
	switch {
	case errors.As(err, &ute):
		msg = fmt.Sprintf("got a JSON %s, want %s", ute.Value, ute.Type)
	case errors.As(err, &fe):
		msg = fe.Msg
	}
	last := path[strings.LastIndexAny(path, ".]")+1:]
	return strings.TrimPrefix(msg, last+": ")
}

// position turns a byte offset into a 1-based line and column.
func position(b []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(b)))
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col == 0 {
		col = 1 // the offset is just past the bad byte; point at it
	}
	return line, col
}

// locate finds the path of the value in raw (syntactically valid JSON of type
// t) that fails to decode. encoding/json names the field of a type mismatch
// but not the index, and names nothing at all when a field's UnmarshalText
// fails (a malformed address), so the failing value is narrowed down by
// decoding the pieces again: each element of an array, each key of an object
// as a one-key object of the parent type. It runs only on the error path and
// is bounded by the depth of t.
func locate(raw []byte, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return path
		}
		for i, e := range elems {
			if !decodes(e, t.Elem()) {
				return locate(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case reflect.Struct:
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			return path
		}
		for _, key := range slices.Sorted(maps.Keys(fields)) {
			one, _ := json.Marshal(map[string]json.RawMessage{key: fields[key]})
			if decodes(one, t) {
				continue
			}
			sub := joinPath(path, key)
			if f, ok := fieldByJSONName(t, key); ok && !decodes(fields[key], f.Type) {
				return locate(fields[key], f.Type, sub)
			}
			return sub
		}
	}
	return path
}

func decodes(raw []byte, t reflect.Type) bool {
	return json.Unmarshal(raw, reflect.New(t).Interface()) == nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fieldByJSONName finds the field encoding/json decodes key into: the exact
// tag or name first, then a case-insensitive match, as encoding/json does.
// Embedded structs are searched too.
func fieldByJSONName(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold *reflect.StructField
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
			continue
		case name == "":
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if fold == nil && strings.EqualFold(name, key) {
			fold = &f
		}
	}
	if fold != nil {
		return *fold, true
	}
	return reflect.StructField{}, false
}
