//go:build !linux

package network

import (
	"context"
	"errors"
)

func (r *Realizer) observe(context.Context, *want) (*observed, error) {
	return nil, errors.ErrUnsupported
}

func (r *Realizer) executor(*observed) func(op) error {
	return func(op) error { return errors.ErrUnsupported }
}
