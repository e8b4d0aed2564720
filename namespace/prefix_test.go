package namespace

import (
	"errors"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestCheckPrefix(t *testing.T) {
	for _, ok := range []string{"", "node1-", "nt1a-3-"} {
		if err := CheckPrefix(ok); err != nil {
			t.Errorf("CheckPrefix(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"a/b", "../", "x\x00"} {
		if err := CheckPrefix(bad); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("CheckPrefix(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}
