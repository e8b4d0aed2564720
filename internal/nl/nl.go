package nl

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// RouteProtocol is the rtm_protocol of every route Neutrino installs, so it
// can tell its routes from the kernel's, DHCP's or a routing daemon's. 77 is
// not registered in iproute2's rt_protos nor used by common daemons.
const RouteProtocol = 77

// dumpAttempts bounds the retries of an interrupted dump: the kernel sets
// NLM_F_DUMP_INTR when the table changed during the dump, which on a busy
// node happens a few times in a row at most.
const dumpAttempts = 10

// Dump runs a netlink list call, retrying while the kernel reports the dump
// was interrupted. Every netlink list call in Neutrino goes through it.
func Dump[T any](list func() ([]T, error)) ([]T, error) {
	var (
		out []T
		err error
	)
	for range dumpAttempts {
		out, err = list()
		if err == nil || !isInterrupted(err) {
			return out, Err(err)
		}
	}
	return nil, fmt.Errorf("netlink dump still interrupted after %d attempts: %w", dumpAttempts, err)
}

// Err maps a kernel errno to Neutrino's sentinels, keeping the errno in the
// chain: EEXIST → ErrConflict; ENOENT, ENODEV, ESRCH, EADDRNOTAVAIL →
// ErrNotFound; EINVAL, ERANGE → ErrInvalid. Other errors pass unchanged.
func Err(err error) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, syscall.EEXIST):
		kind = errdefs.ErrConflict
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENODEV),
		errors.Is(err, syscall.ESRCH), errors.Is(err, syscall.EADDRNOTAVAIL),
		isLinkNotFound(err):
		kind = errdefs.ErrNotFound
	case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.ERANGE):
		kind = errdefs.ErrInvalid
	default:
		return err
	}
	if errors.Is(err, kind) {
		return err
	}
	return fmt.Errorf("%w: %w", kind, err)
}

// IsNotFound reports whether err means the object does not exist.
func IsNotFound(err error) bool { return errors.Is(Err(err), errdefs.ErrNotFound) }

// IsExist reports whether err means the object exists already.
func IsExist(err error) bool { return errors.Is(err, syscall.EEXIST) }

// IgnoreNotFound returns nil for "does not exist" errors: deleting what is
// gone already is success.
func IgnoreNotFound(err error) error {
	if IsNotFound(err) {
		return nil
	}
	return err
}

// TempPrefix starts the name of a device Neutrino is still creating. The
// kernel ignores IFLA_IFALIAS in a create message, so a device cannot be
// born labelled: CreateOwned creates it under a temporary name, labels it,
// and only then renames it to its final name. The final name therefore
// never exists without our alias, and a process killed half-way leaves a
// device whose temporary name says whose it was; the next Apply of the
// realizer that owns that kind deletes it (SweepTemp).
const TempPrefix = "nq"

// TempName returns a fresh temporary device name for a device created by
// the given owner, the realizer's name ("network", "port", "router",
// "dhcp"): nq<first letter>-<8 hex>, 12 bytes.
func TempName(kind string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return TempPrefix + tempKind(kind) + "-" + hex.EncodeToString(b[:])
}

// tempKind is the one-letter code of an owner kind in temporary names.
func tempKind(kind string) string {
	if kind == "" {
		return "x"
	}
	return kind[:1]
}

// IsTemp reports whether name is a temporary name of the given owner.
func IsTemp(name, owner string) bool {
	return strings.HasPrefix(name, TempPrefix+tempKind(owner)+"-") && len(name) == len(TempPrefix)+10
}
