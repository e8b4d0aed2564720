package router

import (
	"errors"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/option"
)

func TestBadOptionValuesAreErrorsNotClamps(t *testing.T) {
	for name, o := range map[string]Option{
		"workers":             WithWorkers(0),
		"max_open_namespaces": WithMaxOpenNamespaces(-1),
		"garp":                WithGARP(-1, time.Second),
	} {
		o2 := defaultOptions()
		if err := option.Apply(&o2, []Option{o}); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	o := defaultOptions()
	if err := option.Apply(&o, []Option{WithWorkers(2), WithMaxOpenNamespaces(0), WithGARP(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if o.workers != 2 || o.maxOpen != 0 || o.garpCount != 0 {
		t.Errorf("options not applied: %+v", o)
	}
}
