package errdefs

import (
	"errors"
	"fmt"
	"strings"
)

// The sentinels. Every error Neutrino returns about its input or the kernel's
// state wraps one of them.
var (
	// ErrInvalid: the input is malformed or breaks a rule (bad CIDR, min > max, ...).
	ErrInvalid = errors.New("invalid")
	// ErrConflict: the input collides with itself or with the kernel (overlapping
	// subnets, duplicate IDs, a foreign device with one of our names).
	ErrConflict = errors.New("conflict")
	// ErrNotFound: a reference names an object that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExhausted: an address pool or subnet pool has no room left.
	ErrExhausted = errors.New("exhausted")
	// ErrUnsupported: the input asks for something Neutron offers and
	// Neutrino does not realize (an HA router, a trunk sub-port, a QoS
	// policy, ...). It is refused rather than realized as something else.
	ErrUnsupported = errors.New("unsupported")
)

// FieldError is an error about one field of one object. Path is the JSON path
// of the field, e.g. "subnets[2].allocation_pools[0].start".
type FieldError struct {
	Path string
	Msg  string
	Kind error // one of the sentinels
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Unwrap lets errors.Is match the sentinel.
func (e *FieldError) Unwrap() error { return e.Kind }

// Invalid returns a FieldError wrapping ErrInvalid.
func Invalid(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid}
}

// Conflict returns a FieldError wrapping ErrConflict.
func Conflict(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Kind: ErrConflict}
}

// NotFound returns a FieldError wrapping ErrNotFound.
func NotFound(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Kind: ErrNotFound}
}

// Exhausted returns a FieldError wrapping ErrExhausted.
func Exhausted(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Kind: ErrExhausted}
}

// Unsupported returns a FieldError wrapping ErrUnsupported.
func Unsupported(path, format string, args ...any) error {
	return &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Kind: ErrUnsupported}
}

// Prefix returns err with prefix prepended to the path of every FieldError in
// it (also inside errors.Join trees), so an object's Validate can report paths
// relative to itself and the document can add "subnets[2]". Other errors are
// wrapped as "prefix: err".
func Prefix(prefix string, err error) error {
	if err == nil || prefix == "" {
		return err
	}
	var fe *FieldError
	if errors.As(err, &fe) && fe == err {
		return &FieldError{Path: join(prefix, fe.Path), Msg: fe.Msg, Kind: fe.Kind}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		out := make([]error, 0, len(errs))
		for _, e := range errs {
			out = append(out, Prefix(prefix, e))
		}
		return errors.Join(out...)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func join(prefix, path string) string {
	switch {
	case path == "":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	default:
		return prefix + "." + path
	}
}

// Index formats "name[i]" for paths.
func Index(name string, i int) string { return fmt.Sprintf("%s[%d]", name, i) }
