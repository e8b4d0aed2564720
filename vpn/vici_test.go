package vpn

import (
	"strings"
	"testing"

	"github.com/strongswan/govici/vici"
)

func TestViciConnCarriesTheConnection(t *testing.T) {
	rvs, err := load(t, nil).compile()
	if err != nil {
		t.Fatal(err)
	}
	c1 := rvs[0].Conns[0]
	m, err := viciConn(c1, true)
	if err != nil {
		t.Fatal(err)
	}
	got := m.String()
	for _, want := range []string{"c1", "version = 2", "remote_addrs = 203.0.113.20", "proposals = aes256-sha256-modp2048",
		"encap = yes", "esp_proposals = aes128gcm16-ecp256", "local_ts = 10.1.0.0/24", "remote_ts = 10.8.0.0/24",
		"start_action = none", "dpd_action = trap", "id = 203.0.113.20", "rekey_time = 1800s"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "hunter2") {
		t.Fatal("the connection message carries the key")
	}
	s, err := viciShared(c1)
	if err != nil || !strings.Contains(s.String(), "hunter2") || !strings.Contains(s.String(), "id = c1") {
		t.Fatalf("shared: %v %v", s, err)
	}
	if c1.fingerprint(true) == c1.fingerprint(false) {
		t.Fatal("the fingerprint ignores encapsulation")
	}
	c2 := *c1
	c2.PSK = "other"
	if c1.fingerprint(true) == c2.fingerprint(true) {
		t.Fatal("the fingerprint ignores the key")
	}
}

func TestChildEventsTrackInstalledSAs(t *testing.T) {
	ev := func(v any) *vici.Message {
		m, err := vici.MarshalMessage(v)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	child := func(id string) map[string]any {
		return map[string]any{"name": "c1", "uniqueid": id, "state": "INSTALLED"}
	}
	installed := map[string]map[string]bool{}
	childEvent(installed, "child-updown", ev(map[string]any{"up": "yes", "c1": map[string]any{"child-sas": map[string]any{"c1-1": child("1")}}}))
	if len(installed["c1"]) != 1 {
		t.Fatalf("up: %v", installed)
	}
	childEvent(installed, "child-rekey", ev(map[string]any{"c1": map[string]any{"child-sas": map[string]any{"old": child("1"), "new": child("2")}}}))
	if !installed["c1"]["2"] || installed["c1"]["1"] {
		t.Fatalf("rekey: %v", installed)
	}
	childEvent(installed, "child-updown", ev(map[string]any{"c1": map[string]any{"child-sas": map[string]any{"c1-2": child("2")}}}))
	if len(installed["c1"]) != 0 {
		t.Fatalf("down: %v", installed)
	}
}

func TestFailureReasons(t *testing.T) {
	for msg, want := range map[string]string{
		"received AUTHENTICATION_FAILED notify error":          "AUTHENTICATION_FAILED",
		"tried 1 shared key for 'a' - 'b', but MAC mismatched": "AUTHENTICATION_FAILED (pre-shared key mismatch)",
		"giving up after 3 retransmits":                        "giving up after 3 retransmits",
		"establishing CHILD_SA c1{1}":                          "",
	} {
		if got := failure(msg); got != want {
			t.Errorf("%q: got %q want %q", msg, got, want)
		}
	}
}
