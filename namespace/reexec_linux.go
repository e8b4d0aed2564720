package namespace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// reexecMarker tells a re-executed process that it was re-executed, so a
// namespace that cannot be entered fails instead of looping.
const reexecMarker = "NEUTRINO_NETNS_REEXEC"

// ReexecInto makes the whole process live in the network namespace at path
// (a path, or a name under RunDir): if the process is elsewhere, it
// re-executes itself with the same arguments under `nsenter --net=path` and
// does not return; if it is there already, it returns nil.
//
// Do switches one thread, which is enough for netlink and nftables work.
// A library that opens sockets on goroutines of its own — gobgp — needs
// every thread in the namespace, and only a process that starts there has
// that. `ip netns exec` would also do, but it gives the process a private
// mount namespace, so namespaces the process bind-mounts under RunDir
// (qrouter-, qdhcp-) would vanish from the machine when it exits.
// Call it first thing in main, before any goroutine starts.
func ReexecInto(path string) error {
	if !strings.Contains(path, "/") {
		path = filepath.Join(RunDir, path)
	}
	var want, have syscall.Stat_t
	if err := syscall.Stat(path, &want); err != nil {
		return fmt.Errorf("network namespace %s: %w", path, mapErr(err))
	}
	if err := syscall.Stat("/proc/self/ns/net", &have); err != nil {
		return err
	}
	if want.Dev == have.Dev && want.Ino == have.Ino {
		return nil
	}
	if os.Getenv(reexecMarker) != "" {
		return fmt.Errorf("network namespace %s: still outside it after nsenter", path)
	}
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		return fmt.Errorf("entering %s needs nsenter (util-linux): %w", path, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	argv := append([]string{"nsenter", "--net=" + path, "--", exe}, os.Args[1:]...)
	return syscall.Exec(nsenter, argv, append(os.Environ(), reexecMarker+"=1"))
}
