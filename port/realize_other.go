//go:build !linux

package port

import "errors"

func (r *Realizer) observe(*want) (*observed, error) { return nil, errors.ErrUnsupported }

type executor struct{}

func (executor) do(op) error { return errors.ErrUnsupported }

func (r *Realizer) executor(*observed) executor { return executor{} }
