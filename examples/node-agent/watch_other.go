//go:build !linux

package main

import (
	"context"
	"log/slog"

	"github.com/neutrino-net/neutrino/namespace"
)

// Off Linux there are no kernel notifications to watch: the resync interval
// alone keeps the node converged.
func watchKernel(context.Context, *namespace.Handle, *slog.Logger, chan<- trigger) {}

type ownedWatch struct{}

func newOwnedWatch(string, *slog.Logger, chan<- trigger) *ownedWatch { return &ownedWatch{} }
func (*ownedWatch) refresh(context.Context)                          {}
func (*ownedWatch) stop()                                            {}
