package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"time"
)

// trigger says why the agent resyncs.
type trigger string

const (
	triggerFile     trigger = "file"
	triggerInterval trigger = "interval"
	triggerKernel   trigger = "kernel"
)

// watchFile polls path and sends triggerFile when its content changes.
// Polling (content hash every interval) survives editors that replace the
// file by rename and needs no inotify dependency.
func watchFile(ctx context.Context, path string, every time.Duration, out chan<- trigger) {
	sum := func() []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		s := sha256.Sum256(b)
		return s[:]
	}
	last := sum()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if cur := sum(); !bytes.Equal(cur, last) {
				last = cur
				send(out, triggerFile)
			}
		}
	}
}

// send never blocks: one pending trigger of a kind is enough to resync.
func send(out chan<- trigger, t trigger) {
	select {
	case out <- t:
	default:
	}
}
