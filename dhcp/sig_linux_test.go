package dhcp

import (
	"os"
	"syscall"
)

var sigUSR1 = syscall.SIGUSR1

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
