package nft

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/nl"
)

// Err wraps an error from Flush or a get call with the errdefs sentinel its
// errno means, keeping the errno and the library's message (which names the
// failing message type, e.g. "NFT_MSG_NEWSETELEM: file exists"). On top of
// nl.Err's mapping (EEXIST: an overlapping interval or a base chain re-added
// with another hook, ErrConflict; ENOENT: a missing table, chain, set or
// element, ErrNotFound):
//
//   - EBUSY (deleting a table, chain or set still referenced) wraps
//     ErrConflict;
//   - ENFILE (a set at its size limit) wraps ErrExhausted.
func Err(err error) error {
	var kind error
	switch {
	case errors.Is(err, syscall.EBUSY):
		kind = errdefs.ErrConflict
	case errors.Is(err, syscall.ENFILE):
		kind = errdefs.ErrExhausted
	default:
		return nl.Err(err)
	}
	if errors.Is(err, kind) {
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}
