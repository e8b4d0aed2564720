package bgp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// ReadPeerPasswords reads MD5 passwords by BGP peer ID for
// WithPeerPasswords: one JSON object mapping peer IDs to password strings,
//
//	{"5e000000-0000-4000-8000-000000000000": "s3cret"}
//
// JSON rather than lines of "id password", because a password may hold
// any character, spaces and '=' included. Errors say where the file is
// wrong, never what it holds, so that no password reaches a log.
func ReadPeerPasswords(r io.Reader) (map[string]string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("bgp peer passwords: %w", err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, errdefs.Invalid("", "bgp peer passwords: malformed JSON at byte %d", syn.Offset)
		}
		return nil, errdefs.Invalid("", "bgp peer passwords: want one JSON object of peer ID to password strings")
	}
	for id, pw := range m {
		if id == "" || pw == "" {
			return nil, errdefs.Invalid("", "bgp peer passwords: empty peer ID or password (peer %q)", id)
		}
	}
	return m, nil
}

// ReadPeerPasswordsFile is ReadPeerPasswords of the named file.
func ReadPeerPasswordsFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bgp peer passwords: %w", err)
	}
	defer f.Close()
	m, err := ReadPeerPasswords(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
