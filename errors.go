package neutrino

import "github.com/neutrino-net/neutrino/internal/errdefs"

// The sentinel errors. Every error Neutrino returns about its input or the
// kernel's state wraps one of them; test with errors.Is.
var (
	ErrInvalid   = errdefs.ErrInvalid
	ErrConflict  = errdefs.ErrConflict
	ErrNotFound  = errdefs.ErrNotFound
	ErrExhausted = errdefs.ErrExhausted
)
