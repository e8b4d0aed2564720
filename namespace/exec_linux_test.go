package namespace_test

import (
	"context"
	"os/exec"
	"time"
)

// run runs a tool in the test's own namespace (for iproute2 commands that
// only list, add or delete lab-prefixed names).
func run(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}
