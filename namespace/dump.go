package namespace

import "github.com/neutrino-net/neutrino/internal/nl"

// Dump runs a netlink list call (a Handle's Netlink().LinkList, say),
// retrying while the kernel reports that the dump was interrupted by a
// concurrent change (netlink.ErrDumpInterrupted), and maps kernel errnos to
// Neutrino's sentinels. It is the wrapper Neutrino's own realizers use, for
// embedders that read the same state.
func Dump[T any](list func() ([]T, error)) ([]T, error) { return nl.Dump(list) }
