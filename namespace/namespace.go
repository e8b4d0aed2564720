package namespace

import (
	"fmt"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// RunDir is where named namespaces are bind-mounted, as by iproute2.
const RunDir = "/run/netns"

// Manager creates and removes the named namespaces carrying one node prefix.
// The zero Manager has no prefix and manages every name it is given; give it
// a prefix (NewManager) to share a machine with other nodes or software.
type Manager struct {
	prefix string
	dir    string
}

// NewManager returns a Manager for namespaces named prefix+name under RunDir.
func NewManager(prefix string) *Manager { return &Manager{prefix: prefix, dir: RunDir} }

// Prefix is the node prefix every namespace of this Manager carries.
func (m *Manager) Prefix() string { return m.prefix }

// FullName is the on-disk name of the namespace called name on this node.
func (m *Manager) FullName(name string) string { return m.prefix + name }

// Path is the bind-mount path of the namespace called name.
func (m *Manager) Path(name string) string { return m.runDir() + "/" + m.FullName(name) }

func (m *Manager) runDir() string {
	if m.dir == "" {
		return RunDir
	}
	return m.dir
}

// CheckPrefix reports whether prefix can start a namespace name: every
// realizer's WithPrefix checks its node prefix with it, so a bad one fails
// at construction rather than at the first namespace.
func CheckPrefix(prefix string) error {
	if strings.ContainsAny(prefix, "/\x00") {
		return errdefs.Invalid("prefix", "%q is not a valid namespace prefix", prefix)
	}
	return nil
}

func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return errdefs.Invalid("namespace", "%q is not a valid namespace name", name)
	}
	return nil
}

// sysctlPath maps a net sysctl key to its file under /proc/sys. Dots
// separate the components only in a key without a slash.
func sysctlPath(key string) (string, error) {
	k := key
	if !strings.Contains(k, "/") {
		k = strings.ReplaceAll(k, ".", "/")
	}
	parts := strings.Split(k, "/")
	if len(parts) < 2 || parts[0] != "net" || slices.ContainsFunc(parts, func(p string) bool {
		return p == "" || p == "." || p == ".."
	}) {
		return "", errdefs.Invalid("sysctl", "%q is not a per-namespace net sysctl", key)
	}
	return "/proc/sys/" + k, nil
}

// wrap adds the operation and the namespace's name to err.
func wrap(op, name string, err error) error {
	return fmt.Errorf("namespace %s %q: %w", op, name, err)
}
