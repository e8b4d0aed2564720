//go:build !linux

package port

import (
	"context"
	"errors"
)

func (r *Realizer) observe(context.Context, *want) (*observed, error) {
	return nil, errors.ErrUnsupported
}

type executor struct{}

func (executor) do(op) error { return errors.ErrUnsupported }

func (r *Realizer) executor(*observed) executor { return executor{} }
