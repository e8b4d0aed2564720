//go:build !linux

package qos

import "github.com/neutrino-net/neutrino/internal/errdefs"

func (r *Realizer) observe(*want) (*observed, error) {
	return nil, errdefs.Unsupported("", "QoS is realized on Linux only")
}

func (r *Realizer) executor(*observed) func(op) error {
	return func(op) error { return errdefs.Unsupported("", "QoS is realized on Linux only") }
}
