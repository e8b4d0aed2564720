//go:build !linux

package main

import (
	"context"
	"log/slog"

	"github.com/neutrino-net/neutrino/namespace"
)

// watchKernel has no kernel notifications to watch off Linux: the resync
// interval alone keeps the node converged.
func watchKernel(context.Context, *namespace.Handle, *slog.Logger, chan<- trigger) {}
