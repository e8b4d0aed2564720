package errdefs

import "errors"

// Refusal is one field or value of a model that Neutrino does not realize
// yet. Each model package keeps its refusals in one table per model (the
// *refusals functions of its unsupported.go); the issue that realizes a
// field deletes its entry, and from then on Validate lets the field
// through to the realizer.
type Refusal[T any] struct {
	// Path is the JSON path of the field, relative to the object
	// ("trunk_details.sub_ports").
	Path string
	// Why completes the message: what Neutrino would otherwise have done
	// silently, so the user knows what refusing spared them.
	Why string
	// Refused reports whether obj asks for what is not realized. Neutron's
	// own "off" values (false, null, empty, "normal") are never refused:
	// real API output carries them on every object.
	Refused func(obj *T) bool
}

// Refuse returns one error wrapping ErrUnsupported per refusal of table that
// applies to obj, joined, with paths relative to obj; nil when none does.
func Refuse[T any](obj *T, table []Refusal[T]) error {
	var errs []error
	for _, r := range table {
		if r.Refused(obj) {
			errs = append(errs, Unsupported(r.Path, "not realized by Neutrino: %s", r.Why))
		}
	}
	return errors.Join(errs...)
}
