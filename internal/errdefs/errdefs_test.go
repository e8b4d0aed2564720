package errdefs

import (
	"errors"
	"testing"
)

func TestPrefixKeepsSentinelAndBuildsPath(t *testing.T) {
	err := errors.Join(Invalid("cidr", "bad"), NotFound("network_id", "no such network"))
	err = Prefix("subnets[2]", err)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("sentinels lost: %v", err)
	}
	want := "subnets[2].cidr: bad\nsubnets[2].network_id: no such network"
	if err.Error() != want {
		t.Fatalf("got %q want %q", err.Error(), want)
	}
	if got := Prefix("a", Invalid("[0].b", "x")).Error(); got != "a[0].b: x" {
		t.Fatalf("index join: %q", got)
	}
}
