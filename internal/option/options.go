package option

import (
	"errors"
	"log/slog"
)

// Apply applies opts to c in order and joins their errors. A nil option is
// skipped.
func Apply[C any, O ~func(*C) error](c *C, opts []O) error {
	var errs []error
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Discard is the default logger of every realizer.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
