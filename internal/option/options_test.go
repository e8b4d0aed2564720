package option

import (
	"errors"
	"testing"
)

type config struct{ port int }

type option func(*config) error

func withPort(p int) option {
	return func(c *config) error {
		if p < 1 || p > 65535 {
			return errors.New("port: out of range")
		}
		c.port = p
		return nil
	}
}

func TestApplyJoinsErrorsAndKeepsGoodValues(t *testing.T) {
	c := config{port: 4789}
	if err := Apply(&c, []option{withPort(8472), nil}); err != nil || c.port != 8472 {
		t.Fatalf("good option: %v, port %d", err, c.port)
	}
	err := Apply(&c, []option{withPort(0), withPort(70000)})
	if err == nil {
		t.Fatal("a bad value must be an error, not a clamp")
	}
	if c.port != 8472 {
		t.Errorf("a refused value changed the config: %d", c.port)
	}
	if Discard() == nil {
		t.Error("no default logger")
	}
}
