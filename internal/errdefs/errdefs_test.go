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

func TestRefuseReportsEachRefusedField(t *testing.T) {
	type obj struct{ a, b bool }
	table := []Refusal[obj]{
		{Path: "a", Why: "A is not done", Refused: func(o *obj) bool { return o.a }},
		{Path: "b.c", Why: "B is not done", Refused: func(o *obj) bool { return o.b }},
	}
	if err := Refuse(&obj{}, table); err != nil {
		t.Fatalf("nothing asked, got %v", err)
	}
	err := Prefix("things[1]", Refuse(&obj{a: true, b: true}, table))
	want := "things[1].a: not realized by Neutrino: A is not done\nthings[1].b.c: not realized by Neutrino: B is not done"
	if !errors.Is(err, ErrUnsupported) || err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
}
