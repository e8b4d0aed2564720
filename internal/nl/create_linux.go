package nl

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
)

// TempPrefix starts the name of a device Neutrino is still creating. The
// kernel ignores IFLA_IFALIAS in a create message, so a device cannot be
// born labelled: CreateOwned creates it under a temporary name, labels it,
// and only then renames it to its final name. The final name therefore
// never exists without our alias, and a process killed half-way leaves a
// device whose temporary name says whose it was; the next Apply of the
// realizer that owns that kind deletes it (SweepTemp).
const TempPrefix = "nq"

// TempName returns a fresh temporary device name for a device of the given
// owner kind ("port", "router-port", ...): nq<k>-<8 hex>, 12 bytes.
func TempName(kind string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return TempPrefix + tempKind(kind) + "-" + hex.EncodeToString(b[:])
}

// tempKind is the one-letter code of an owner kind in temporary names.
func tempKind(kind string) string {
	if kind == "" {
		return "x"
	}
	return kind[:1]
}

// IsTemp reports whether name is a temporary name of the given owner kind.
func IsTemp(name, kind string) bool {
	return strings.HasPrefix(name, TempPrefix+tempKind(kind)+"-") && len(name) == len(TempPrefix)+10
}

// CreateOwned creates link in h's namespace, labelled with alias, under the
// name link.Attrs().Name, so that the name appears only with the alias: the
// device is created under a temporary name, labelled, then renamed. The
// link must be new (not up); a veth's peer keeps its own name. On return
// link.Attrs() carries the final name and the new index.
func CreateOwned(h *netlink.Handle, link netlink.Link, kind, alias string) error {
	attrs := link.Attrs()
	final := attrs.Name
	attrs.Name = TempName(kind)
	attrs.Alias = ""
	if err := h.LinkAdd(link); err != nil {
		attrs.Name = final
		return Err(fmt.Errorf("create %s: %w", final, err))
	}
	created, err := h.LinkByName(attrs.Name)
	if err == nil {
		err = h.LinkSetAlias(created, alias)
	}
	if err == nil {
		err = h.LinkSetName(created, final)
	}
	if err != nil {
		// Leave no temporary device behind when we still can.
		if created != nil {
			_ = h.LinkDel(created)
		}
		attrs.Name = final
		return Err(fmt.Errorf("create %s: %w", final, err))
	}
	attrs.Name, attrs.Alias, attrs.Index = final, alias, created.Attrs().Index
	return nil
}

// SweepTemp deletes the devices in links that carry a temporary name of
// kind: leftovers of a CreateOwned that a crash interrupted. It returns the
// names it deleted.
func SweepTemp(h *netlink.Handle, links []netlink.Link, kind string) ([]string, error) {
	var deleted []string
	for _, l := range links {
		if name := l.Attrs().Name; IsTemp(name, kind) {
			if err := IgnoreNotFound(h.LinkDel(l)); err != nil {
				return deleted, fmt.Errorf("sweep %s: %w", name, err)
			}
			deleted = append(deleted, name)
		}
	}
	return deleted, nil
}
