package bgp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// neutron-dynamic-routing returns remote_as as a string in some responses.
func TestASNAcceptsNumberOrNumericString(t *testing.T) {
	for _, in := range []string{`{"remote_as": 64513}`, `{"remote_as": "64513"}`} {
		var p Peer
		if err := json.Unmarshal([]byte(in), &p); err != nil || p.RemoteAS != 64513 {
			t.Errorf("%s: %d, %v", in, p.RemoteAS, err)
		}
	}
	var s Speaker
	if err := json.Unmarshal([]byte(`{"local_as": "4200000000"}`), &s); err != nil || s.LocalAS != 4200000000 {
		t.Errorf("local_as string: %d, %v", s.LocalAS, err)
	}
	for _, in := range []string{`"AS64513"`, `"-1"`, `4294967296`, `"6451 3"`, `1.5`, `""`, `true`} {
		var a ASN
		if err := json.Unmarshal([]byte(in), &a); !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", in, err)
		}
	}
	if b, _ := json.Marshal(Peer{RemoteAS: 7}); !strings.Contains(string(b), `"remote_as":7`) {
		t.Errorf("written back as %s, want a number", b)
	}
}

const secret = "t0p-s3cret-Pw"

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// An md5 peer without a password in the document (Neutron never shows it)
// takes the configured one; it never appears in logs, reports or errors.
func TestPeerPasswordFromConfiguration(t *testing.T) {
	var logs lockedBuffer // gobgp logs from its own goroutines
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := NewServer(WithServerLogger(log), WithPeerPasswords(map[string]string{"p1": secret}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Start(ctx, Global{AS: 64512, RouterID: netip.MustParseAddr("198.18.0.1"), Passive: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(ctx) })

	p1 := Peer{ID: "p1", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 64513, AuthType: AuthMD5}
	rep, err := s.SetPeers(ctx, []Peer{p1})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := s.listPeerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := listed[p1.PeerIP].Password; got != secret {
		t.Errorf("gobgp has password %q for p1, want the configured one", got)
	}
	// A password in the document is used first.
	doc := p1
	doc.Password = "from-the-document"
	if _, err := s.SetPeers(ctx, []Peer{doc}); err != nil {
		t.Fatal(err)
	}
	if listed, _ = s.listPeerConfigs(ctx); listed[p1.PeerIP].Password != doc.Password {
		t.Errorf("the document's password is not used: %q", listed[p1.PeerIP].Password)
	}
	if _, err := s.SetPeers(ctx, []Peer{p1}); err != nil {
		t.Fatal(err)
	}

	// md5 with no password anywhere: a clear error naming the peer, and
	// nothing changes.
	p2 := Peer{ID: "p2", PeerIP: netip.MustParseAddr("198.18.0.3"), RemoteAS: 64514, AuthType: AuthMD5}
	rep2, err := s.SetPeers(ctx, []Peer{p1, p2})
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "bgp_peers[1].password: peer p2 has auth_type md5, but no password") {
		t.Fatalf("md5 without any password: %v", err)
	}
	if rep2.Mutations() != 0 {
		t.Errorf("a refused peer list changed %d things", rep2.Mutations())
	}
	if st, _ := s.Status(ctx); len(st.Peers) != 1 {
		t.Errorf("peers after the refused list: %+v", st.Peers)
	}

	r, err := NewRealizer(s, WithPassive())
	if err != nil {
		t.Fatal(err)
	}
	d := Desired{Speaker: Speaker{ID: "sp", LocalAS: 64512, IPVersion: 4, Peers: []string{"p2"}}, Peers: []Peer{p2},
		RouterID: netip.MustParseAddr("198.18.0.1")}
	rrep, err := r.Apply(ctx, d)
	if err == nil || !strings.Contains(err.Error(), "peer p2 has auth_type md5, but no password") || rrep.Mutations() != 0 {
		t.Errorf("realizer Apply without p2's password: %d mutations, %v", rrep.Mutations(), err)
	}

	text := logs.String() + strings.Join(rep.Changes, "\n") + strings.Join(rrep.Changes, "\n") + err.Error()
	if strings.Contains(text, secret) || strings.Contains(text, doc.Password) {
		t.Errorf("a password leaked into logs, reports or errors:\n%s", text)
	}
	if !strings.Contains(logs.String(), "bgp peer added") {
		t.Errorf("the log check saw no peer records; is the logger wired? %s", logs.String())
	}
}

func TestReadPeerPasswords(t *testing.T) {
	m, err := ReadPeerPasswords(strings.NewReader(`{"p1": "a b=c", "p2": "` + secret + `"}`))
	if err != nil || m["p1"] != "a b=c" || m["p2"] != secret || len(m) != 2 {
		t.Fatalf("%v, %v", m, err)
	}
	for _, in := range []string{`{"p1": "` + secret + `" "p2": "x"}`, `["` + secret + `"]`, `{"p1": ""}`, `p1 ` + secret} {
		_, err := ReadPeerPasswords(strings.NewReader(in))
		if !errors.Is(err, errdefs.ErrInvalid) {
			t.Errorf("%q: got %v, want ErrInvalid", in, err)
		} else if strings.Contains(err.Error(), secret[:4]) {
			t.Errorf("the error repeats the file's content: %v", err)
		}
	}
}

// FuzzASN: an AS number decodes from a number or a string of digits, or is
// an ErrInvalid; what decodes is written back as a number that decodes to
// the same value.
func FuzzASN(f *testing.F) {
	for _, s := range []string{`64513`, `"64513"`, `"AS1"`, `4294967296`, `"-0"`, `null`, `"\u0036"`, `1e3`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var a ASN
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			var se *json.SyntaxError
			if !errors.Is(err, errdefs.ErrInvalid) && !errors.As(err, &se) {
				t.Fatalf("%q: %v wraps no sentinel", in, err)
			}
			return
		}
		b, _ := json.Marshal(a)
		var back ASN
		if err := json.Unmarshal(b, &back); err != nil || back != a {
			t.Fatalf("%q: %d written as %s reads back as %d (%v)", in, a, b, back, err)
		}
	})
}

func TestReadPeerPasswordsFile(t *testing.T) {
	dir := t.TempDir()
	good, bad := dir+"/good.json", dir+"/bad.json"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(good, []byte(`{"p1": "`+secret+`"}`), 0o600))
	must(os.WriteFile(bad, []byte(`p1 = `+secret), 0o600))
	if m, err := ReadPeerPasswordsFile(good); err != nil || m["p1"] != secret {
		t.Errorf("%v, %v", m, err)
	}
	_, err := ReadPeerPasswordsFile(bad)
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), secret) {
		t.Errorf("malformed file: %v (want ErrInvalid naming the file, not its content)", err)
	}
	if _, err := ReadPeerPasswordsFile(dir + "/missing"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
