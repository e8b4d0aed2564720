package neutrino

import "github.com/neutrino-net/neutrino/internal/errdefs"

// The sentinel errors. Every error Neutrino returns about its input or the
// kernel's state wraps one of them; test with errors.Is.
//
// ErrUnsupported marks a Neutron field or value that Neutrino does not
// realize (see the README's supported subset): Validate refuses it, naming
// the object and the field, rather than realize something else.
var (
	ErrInvalid     = errdefs.ErrInvalid
	ErrConflict    = errdefs.ErrConflict
	ErrNotFound    = errdefs.ErrNotFound
	ErrExhausted   = errdefs.ErrExhausted
	ErrUnsupported = errdefs.ErrUnsupported
)
