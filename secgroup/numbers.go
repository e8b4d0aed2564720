package secgroup

import (
	"hash/fnv"
	"sort"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// numbers are the identities the policy gives ports and networks. Nothing
// persists them: the realizer reads the ones in use back from the kernel
// (the verdict maps and the zone map) and keeps them, so a port keeps its
// number and a network its conntrack zone for as long as they exist.
type numbers struct {
	ports map[string]uint32 // tap device -> port number (1..maxPort)
	zones map[string]uint16 // bridge -> conntrack zone
}

// Conntrack zones are taken from [zoneFirst, 65535], as Neutron does
// (ip_conntrack.ZONE_START), leaving the low zones to other software (Open
// vSwitch uses VLAN tags as zones).
const zoneFirst = 4097

// assignPorts keeps the numbers of taps that have one and gives the others
// the lowest free numbers.
func assignPorts(taps []string, prev map[string]uint32, max uint32) (map[string]uint32, error) {
	out := make(map[string]uint32, len(taps))
	used := make(map[uint32]bool, len(taps))
	sorted := append([]string(nil), taps...)
	sort.Strings(sorted)
	for _, t := range sorted {
		if n, ok := prev[t]; ok && n >= 1 && n <= max && !used[n] {
			out[t], used[n] = n, true
		}
	}
	next := uint32(1)
	for _, t := range sorted {
		if _, ok := out[t]; ok {
			continue
		}
		for used[next] {
			next++
		}
		if next > max {
			return nil, errdefs.Exhausted("ports", "more than %d filtered ports: widen the mark mask (WithMarkMask)", max)
		}
		out[t], used[next] = next, true
	}
	return out, nil
}

// assignZones keeps the zones of bridges that have one; a new network's
// zone is derived from its ID (so it is the same on every node and after
// the table is lost) and probes upward past zones in use.
func assignZones(bridges map[string]string, prev map[string]uint16) map[string]uint16 {
	names := make([]string, 0, len(bridges))
	for b := range bridges {
		names = append(names, b)
	}
	sort.Strings(names)
	out := make(map[string]uint16, len(names))
	used := make(map[uint16]bool, len(names))
	for _, b := range names {
		if z, ok := prev[b]; ok && z >= zoneFirst && !used[z] {
			out[b], used[z] = z, true
		}
	}
	const span = 65536 - zoneFirst
	for _, b := range names {
		if _, ok := out[b]; ok {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(bridges[b]))
		z := h.Sum32() % span
		for used[uint16(zoneFirst+z)] {
			z = (z + 1) % span
		}
		out[b] = uint16(zoneFirst + z)
		used[out[b]] = true
	}
	return out
}
