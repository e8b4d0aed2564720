//go:build !linux

package network

import (
	"context"
	"errors"
)

func (r *Realizer) observe(*want) (*observed, error) { return nil, errors.ErrUnsupported }

func (r *Realizer) execute(context.Context, *observed, []change, *Report) error {
	return errors.ErrUnsupported
}
