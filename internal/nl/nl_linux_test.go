package nl

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestErrMapsErrnos(t *testing.T) {
	cases := []struct {
		in   error
		want error
	}{
		{syscall.EEXIST, errdefs.ErrConflict},
		{fmt.Errorf("link add: %w", syscall.ENODEV), errdefs.ErrNotFound},
		{syscall.ENOENT, errdefs.ErrNotFound},
		{syscall.ESRCH, errdefs.ErrNotFound},
		{syscall.EINVAL, errdefs.ErrInvalid},
		{netlink.LinkNotFoundError{}, errdefs.ErrNotFound},
	}
	for _, c := range cases {
		got := Err(c.in)
		if !errors.Is(got, c.want) {
			t.Errorf("Err(%v) = %v, want %v", c.in, got, c.want)
		}
		if !errors.Is(got, c.in) && !errors.As(got, new(netlink.LinkNotFoundError)) {
			t.Errorf("Err(%v) lost the original error", c.in)
		}
	}
	if Err(nil) != nil || IgnoreNotFound(syscall.ENODEV) != nil || IgnoreNotFound(syscall.EEXIST) == nil {
		t.Error("nil and not-found handling")
	}
}

func TestDumpRetriesInterrupted(t *testing.T) {
	calls := 0
	out, err := Dump(func() ([]int, error) {
		calls++
		if calls < 3 {
			return []int{1}, netlink.ErrDumpInterrupted
		}
		return []int{1, 2}, nil
	})
	if err != nil || len(out) != 2 || calls != 3 {
		t.Fatalf("out=%v err=%v calls=%d", out, err, calls)
	}
	_, err = Dump(func() ([]int, error) { return nil, netlink.ErrDumpInterrupted })
	if err == nil {
		t.Fatal("endless interruption must fail")
	}
}
