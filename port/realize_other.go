//go:build !linux

package port

import "errors"

func (r *Realizer) observe(*want) (*observed, error) { return nil, errors.ErrUnsupported }

func (r *Realizer) executor(*observed) interface{ do(op) error } { return nil }
