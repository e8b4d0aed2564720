package bgp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestSpeakerValidate(t *testing.T) {
	lp := uint32(0)
	good := Speaker{ID: "sp", LocalAS: 64512, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"}, RouterID: netip.MustParseAddr("198.18.0.1"),
		Communities: []string{"64512:100", "no-export", "4200000000:1:2"}, LocalPref: &lp}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Speaker)
		kind   error
		path   string
	}{
		{"no id", func(s *Speaker) { s.ID = "" }, errdefs.ErrInvalid, "id: required"},
		{"no AS", func(s *Speaker) { s.LocalAS = 0 }, errdefs.ErrInvalid, "local_as: required"},
		{"version", func(s *Speaker) { s.IPVersion = 5 }, errdefs.ErrInvalid, "ip_version: 5 is not 4 or 6"},
		{"empty network", func(s *Speaker) { s.Networks = []string{""} }, errdefs.ErrInvalid, "networks[0]: empty ID"},
		{"peer twice", func(s *Speaker) { s.Peers = []string{"p1", "p1"} }, errdefs.ErrConflict, "peers[1]: p1 repeats peers[0]"},
		{"v6 router id", func(s *Speaker) { s.RouterID = netip.MustParseAddr("2001:db8::1") }, errdefs.ErrInvalid, "router_id: 2001:db8::1: a BGP identifier is an IPv4"},
		{"community out of range", func(s *Speaker) { s.Communities = []string{"no-export", "64512:70000"} }, errdefs.ErrInvalid, `communities[1]: "64512:70000": a community is two numbers 0-65535`},
		{"large community out of range", func(s *Speaker) { s.Communities = []string{"1:2:4294967296"} }, errdefs.ErrInvalid, `communities[0]: "1:2:4294967296": a large community is three numbers`},
		{"not a community", func(s *Speaker) { s.Communities = []string{"no-such"} }, errdefs.ErrInvalid, `communities[0]: "no-such" is not a community`},
		{"community twice", func(s *Speaker) { s.Communities = []string{"1:2", "1:2"} }, errdefs.ErrInvalid, `communities[1]: "1:2" is listed twice`},
	} {
		s := good
		tc.mutate(&s)
		if err := s.Validate(); !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want %v at %q", tc.name, err, tc.kind, tc.path)
		}
	}
}

func TestPeerValidate(t *testing.T) {
	good := Peer{ID: "p", PeerIP: netip.MustParseAddr("198.51.100.1"), RemoteAS: 4200000000, AuthType: AuthMD5, Password: "s3cret", HoldTime: 9, KeepaliveInterval: 3}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	// Neutron's API never shows an md5 peer's password: the document is
	// valid without it, the server takes it from configuration.
	hidden := good
	hidden.Password = ""
	if err := hidden.Validate(); err != nil {
		t.Fatalf("md5 without a password in the document: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Peer)
		path   string
	}{
		{"no id", func(p *Peer) { p.ID = "" }, "id: required"},
		{"no ip", func(p *Peer) { p.PeerIP = netip.Addr{} }, "peer_ip: an IP address is required"},
		{"unspecified ip", func(p *Peer) { p.PeerIP = netip.IPv4Unspecified() }, "peer_ip: 0.0.0.0 is not a peer address"},
		{"no AS", func(p *Peer) { p.RemoteAS = 0 }, "remote_as: required"},
		{"password without md5", func(p *Peer) { p.AuthType = AuthNone }, "password: given, but auth_type is none"},
		{"auth type", func(p *Peer) { p.AuthType = "sha1" }, `auth_type: "sha1" is not none or md5`},
		{"hold time", func(p *Peer) { p.HoldTime = 2 }, "hold_time: 2 is not 0"},
		{"keepalive", func(p *Peer) { p.KeepaliveInterval = 9 }, "keepalive_interval: 9 is not below the hold time 9"},
		{"keepalive default hold", func(p *Peer) { p.HoldTime, p.KeepaliveInterval = 0, 90 }, "keepalive_interval: 90 is not below the hold time 90"},
	} {
		p := good
		tc.mutate(&p)
		if err := p.Validate(); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want ErrInvalid at %q", tc.name, err, tc.path)
		}
	}
}
