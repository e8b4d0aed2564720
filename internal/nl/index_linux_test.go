package nl

import (
	"errors"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestIndexNamesDevicesByIndex(t *testing.T) {
	x := Index{"brq1": 7}
	l, err := x.Link("brq1")
	if err != nil || l.Attrs().Index != 7 || l.Attrs().Name != "brq1" {
		t.Fatalf("Link: %v %+v", err, l)
	}
	if _, err := x.Link("gone"); !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("a device the plan never made: %v, want ErrNotFound", err)
	}
	called := false
	if err := x.With("gone", func(netlink.Link) error { called = true; return nil }); err == nil || called {
		t.Error("With must not run fn on a missing device")
	}
	boom := errors.New("boom")
	if err := x.With("brq1", func(netlink.Link) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("With: %v", err)
	}
}
