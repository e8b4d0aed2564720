package ipam

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// FileStore is a Store in a directory that survives restarts. Like CNI's
// host-local IPAM it keeps one small file per reservation,
// <dir>/<subnet-id>/<address>, holding the owner, so a reservation costs one
// file whatever the subnet holds, rather than rewriting a document of 65,000
// addresses. IPv6 addresses are named with '_' for ':' so the names are
// portable.
//
// A reservation is written to a temporary file, flushed, and then hard-linked
// to its name: the link appears whole or not at all (no half-written owner
// after a crash), and it fails when the name exists, so two processes sharing
// the directory cannot both reserve an address. The directory is flushed
// after every change. Files whose names are not addresses are ignored.
type FileStore struct {
	dir string
}

var _ Store = (*FileStore)(nil)

// OpenFileStore opens, creating it if needed, the store in dir.
func OpenFileStore(dir string) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ipam: open file store: %w", err)
	}
	return &FileStore{dir: dir}, nil
}

// Reserve implements Store.
func (s *FileStore) Reserve(subnetID string, addr netip.Addr, owner string) (bool, error) {
	dir, err := s.subnetDir(subnetID)
	if err != nil {
		return false, err
	}
	if !addr.IsValid() || addr.Zone() != "" {
		return false, errdefs.Invalid("ip_address", "%q cannot be reserved: not an address without zone", addr.String())
	}
	name := filepath.Join(dir, fileName(addr))
	if _, err := os.Lstat(name); err == nil {
		return false, nil // taken: spare the temporary file
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("ipam: reserve %s in subnet %s: %w", addr, subnetID, err)
	}
	tmp, err := writeTemp(dir, owner)
	if err != nil {
		return false, fmt.Errorf("ipam: reserve %s in subnet %s: %w", addr, subnetID, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, name); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("ipam: reserve %s in subnet %s: %w", addr, subnetID, err)
	}
	if err := syncDir(dir); err != nil {
		return false, fmt.Errorf("ipam: reserve %s in subnet %s: %w", addr, subnetID, err)
	}
	return true, nil
}

// Release implements Store.
func (s *FileStore) Release(subnetID string, addrs ...netip.Addr) error {
	dir, err := s.subnetDir(subnetID)
	if err != nil {
		return err
	}
	removed := false
	for _, a := range addrs {
		err := os.Remove(filepath.Join(dir, fileName(a)))
		switch {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("ipam: release %s in subnet %s: %w", a, subnetID, err)
		}
	}
	if !removed {
		return nil
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("ipam: release in subnet %s: %w", subnetID, err)
	}
	return nil
}

// Reservations implements Store.
func (s *FileStore) Reservations(subnetID string) (map[netip.Addr]string, error) {
	dir, err := s.subnetDir(subnetID)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ipam: read reservations of subnet %s: %w", subnetID, err)
	}
	r := make(map[netip.Addr]string, len(entries))
	for _, e := range entries {
		a, err := netip.ParseAddr(strings.ReplaceAll(e.Name(), "_", ":"))
		if err != nil || !e.Type().IsRegular() || fileName(a) != e.Name() {
			continue // a temporary file, or not ours
		}
		owner, err := os.ReadFile(filepath.Join(dir, e.Name()))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // released since ReadDir
		case err != nil:
			return nil, fmt.Errorf("ipam: read reservation %s of subnet %s: %w", a, subnetID, err)
		}
		r[a] = string(owner)
	}
	return r, nil
}

// subnetDir refuses IDs that would leave the store's directory or collide
// with its temporary files.
func (s *FileStore) subnetDir(subnetID string) (string, error) {
	if subnetID == "" || strings.HasPrefix(subnetID, ".") || strings.ContainsAny(subnetID, "/\\\x00") {
		return "", errdefs.Invalid("subnet_id", "%q cannot name a directory of the file store", subnetID)
	}
	return filepath.Join(s.dir, subnetID), nil
}

func fileName(a netip.Addr) string { return strings.ReplaceAll(a.String(), ":", "_") }

func writeTemp(dir, content string) (name string, err error) {
	f, err := os.CreateTemp(dir, ".reserve-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.WriteString(content); err != nil {
		return "", err
	}
	return f.Name(), f.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
