package naming

import (
	"strconv"
	"strings"
)

// Device name prefixes, as Neutron's agents use them.
const (
	PrefixBridge   = "brq"
	PrefixTap      = "tap"
	PrefixRouterIf = "qr-"
	PrefixGateway  = "qg-"
	PrefixDHCP     = "ns-"
	PrefixVXLAN    = "vxlan-"

	NSRouter = "qrouter-"
	NSDHCP   = "qdhcp-"
)

// DevLen is the length Neutron gives every device it creates: IFNAMSIZ
// minus the NUL byte, minus one character of headroom.
const DevLen = 14

// Device returns (prefix + id) cut to DevLen bytes.
func Device(prefix, id string) string {
	n := prefix + id
	if len(n) > DevLen {
		n = n[:DevLen]
	}
	return n
}

// Bridge is the bridge of a network: brq<network-id[:11]>.
func Bridge(networkID string) string { return Device(PrefixBridge, networkID) }

// Tap is the host end of a port: tap<port-id[:11]>.
func Tap(portID string) string { return Device(PrefixTap, portID) }

// RouterInterface is a router's internal interface: qr-<port-id[:11]>.
func RouterInterface(portID string) string { return Device(PrefixRouterIf, portID) }

// RouterGateway is a router's gateway interface: qg-<port-id[:11]>.
func RouterGateway(portID string) string { return Device(PrefixGateway, portID) }

// DHCPInterface is a DHCP port's interface in its qdhcp namespace: ns-<port-id[:11]>.
func DHCPInterface(portID string) string { return Device(PrefixDHCP, portID) }

// VXLAN is the VXLAN device of a segment: vxlan-<vni>.
func VXLAN(vni int) string { return PrefixVXLAN + strconv.Itoa(vni) }

// RouterNamespace is qrouter-<router-id> (the node prefix is the Manager's).
func RouterNamespace(routerID string) string { return NSRouter + routerID }

// DHCPNamespace is qdhcp-<network-id> (the node prefix is the Manager's).
func DHCPNamespace(networkID string) string { return NSDHCP + networkID }

// OwnerAlias is the IFLA_IFALIAS Neutrino writes on every device it creates,
// so that a device is ours only if both its name and its alias say so: a
// foreign device that happens to carry one of our names is left alone.
func OwnerAlias(kind, id string) string { return OwnerPrefix + kind + ":" + id }

// OwnerPrefix starts every alias Neutrino writes (OwnerAlias).
const OwnerPrefix = "neutrino:"

// ParseOwner splits an alias OwnerAlias wrote, "neutrino:<kind>:<id>"; ok is
// false for any alias Neutrino did not write.
func ParseOwner(alias string) (kind, id string, ok bool) {
	rest, found := strings.CutPrefix(alias, OwnerPrefix)
	if !found {
		return "", "", false
	}
	kind, id, ok = strings.Cut(rest, ":")
	return kind, id, ok && kind != "" && id != ""
}

// ValidIfName reports whether the kernel accepts name for a network device
// (dev_valid_name): 1..15 bytes, not "." or "..", no '/', ':' or white space.
func ValidIfName(name string) bool {
	if name == "" || len(name) > 15 || name == "." || name == ".." {
		return false
	}
	for _, c := range []byte(name) {
		if c == '/' || c == ':' || c == 0 || c == ' ' || (c >= '\t' && c <= '\r') {
			return false
		}
	}
	return true
}
