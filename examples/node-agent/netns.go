package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// enterNetns makes the whole process live in the network namespace at path:
// if it is elsewhere, it re-executes itself under `nsenter --net=path`.
//
// Why not `ip netns exec`: it also gives the process a private mount
// namespace, so the qrouter-/qdhcp- namespaces the agent bind-mounts under
// /run/netns would vanish from the machine when the agent exits. Why not
// setns from Go: a namespace belongs to a thread, and gobgp opens its
// sockets on goroutines of its own, which may run on any thread; only a
// process that starts inside the namespace has all its threads there.
func enterNetns(path string) error {
	if !strings.Contains(path, "/") {
		path = filepath.Join("/run/netns", path)
	}
	var want, have syscall.Stat_t
	if err := syscall.Stat(path, &want); err != nil {
		return fmt.Errorf("--netns %s: %w", path, err)
	}
	if err := syscall.Stat("/proc/self/ns/net", &have); err != nil {
		return err
	}
	if want.Dev == have.Dev && want.Ino == have.Ino {
		return nil
	}
	if os.Getenv("NEUTRINO_AGENT_REEXEC") != "" {
		return fmt.Errorf("--netns %s: still outside the namespace after nsenter", path)
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("--netns needs nsenter (util-linux): %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	argv := append([]string{"nsenter", "--net=" + path, "--", exe}, os.Args[1:]...)
	return syscall.Exec(nsenter, argv, append(os.Environ(), "NEUTRINO_AGENT_REEXEC=1"))
}
