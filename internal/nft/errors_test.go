package nft

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestErrMapsErrnos(t *testing.T) {
	for errno, want := range map[syscall.Errno]error{
		syscall.EEXIST: errdefs.ErrConflict,
		syscall.EBUSY:  errdefs.ErrConflict,
		syscall.ENOENT: errdefs.ErrNotFound,
		syscall.ENFILE: errdefs.ErrExhausted,
	} {
		err := Err(fmt.Errorf("receive: NFT_MSG_NEWSETELEM: %w", errno))
		if !errors.Is(err, want) || !errors.Is(err, errno) {
			t.Errorf("Err(%v) = %v: want both %v and the errno", errno, err, want)
		}
	}
	if Err(nil) != nil {
		t.Error("Err(nil) != nil")
	}
	other := fmt.Errorf("x: %w", syscall.EPERM)
	if Err(other) != other {
		t.Error("an unmapped errno must pass unchanged")
	}
}
