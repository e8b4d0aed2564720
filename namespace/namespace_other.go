//go:build !linux

package namespace

import "errors"

// Handle is an open network namespace; namespaces exist only on Linux.
type Handle struct{}

// Current is unsupported off Linux.
func Current() (*Handle, error) { return nil, errors.ErrUnsupported }

// OpenPath is unsupported off Linux.
func OpenPath(string) (*Handle, error) { return nil, errors.ErrUnsupported }

// Do is unsupported off Linux.
func (h *Handle) Do(func() error) error { return errors.ErrUnsupported }

// Close is a no-op off Linux.
func (h *Handle) Close() error { return nil }

// Ensure is unsupported off Linux.
func (m *Manager) Ensure(string) (*Handle, bool, error) { return nil, false, errors.ErrUnsupported }

// Open is unsupported off Linux.
func (m *Manager) Open(string) (*Handle, error) { return nil, errors.ErrUnsupported }

// Delete is unsupported off Linux.
func (m *Manager) Delete(string) error { return errors.ErrUnsupported }

// List is unsupported off Linux.
func (m *Manager) List() ([]string, error) { return nil, errors.ErrUnsupported }

// ReexecInto is unsupported off Linux.
func ReexecInto(string) error { return errors.ErrUnsupported }
