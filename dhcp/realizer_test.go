package dhcp

import (
	"errors"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestNewRealizerRejectsANilHost(t *testing.T) {
	if _, err := NewRealizer(nil, WithPrefix("x-")); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("NewRealizer(nil): %v, want ErrInvalid", err)
	}
}
