package metadata

import (
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/port"
)

// Desired is what the metadata service serves on this node.
type Desired struct {
	// Routers are the IDs of the routers whose namespaces are on this node
	// and get a listener.
	Routers []string
	// Networks are the isolated networks whose DHCP namespaces are on this
	// node and get a listener (enable_isolated_metadata).
	Networks []Network
	// Ports are every port the node knows: the routers' interface ports
	// (which say what networks a router serves), the DHCP ports (whose
	// device names the IPv6 listener needs) and the instances' ports.
	Ports []port.Port
}

// Network is an isolated network served from its DHCP namespace.
type Network struct {
	ID string
	// DHCPPortID is the network's DHCP port on this node: with IPv6 its
	// device (ns-<id[:11]>) gets the fe80::a9fe:a9fe listener.
	DHCPPortID string
	// IPv6 says the network has an IPv6 subnet (Neutron adds the IPv6
	// metadata address only then).
	IPv6 bool
}

// Scope is where a request came in: a router's or a network's listener.
type Scope struct {
	Router bool
	ID     string
}

func (s Scope) String() string {
	if s.Router {
		return "router " + s.ID
	}
	return "network " + s.ID
}

// Instance is what a source address resolves to.
type Instance struct {
	ID      string // the port's device_id
	Project string // the port's project_id
	PortID  string

	signature string // Sign(secret, ID), computed once per Apply
}

// index resolves (scope, source) to the one port holding the address.
// It is immutable once built; Apply swaps a new one in.
type index struct {
	byIP  map[scopedIP][]Instance
	byMAC map[scopedMAC][]Instance
	sigs  map[string]string // instance ID -> signature, reused by the next index
}

type scopedIP struct {
	scope Scope
	ip    netip.Addr
}

type scopedMAC struct {
	scope Scope
	mac   [6]byte
}

// routerInterface is Neutron's ROUTER_INTERFACE_OWNERS.
var routerInterface = map[string]bool{
	port.OwnerRouterInterface:            true,
	port.OwnerHARouterInterface:          true,
	port.OwnerRouterInterfaceDistributed: true,
}

// buildIndex maps every served scope's networks' ports, each instance
// signed with secret once here rather than on every request (and not
// again when prev, the index it replaces, signed it already).
func buildIndex(d *Desired, secret []byte, prev *index) *index {
	ix := &index{byIP: map[scopedIP][]Instance{}, byMAC: map[scopedMAC][]Instance{}, sigs: map[string]string{}}
	sign := func(id string) string {
		if s, ok := ix.sigs[id]; ok {
			return s
		}
		var s string
		ok := false
		if prev != nil {
			s, ok = prev.sigs[id]
		}
		if !ok {
			s = Sign(secret, id)
		}
		ix.sigs[id] = s
		return s
	}
	scopesOf := map[string][]Scope{} // network ID -> scopes it is served in
	served := map[string]bool{}
	for _, id := range d.Routers {
		served[id] = true
	}
	for i := range d.Ports {
		p := &d.Ports[i]
		if routerInterface[p.DeviceOwner] && served[p.DeviceID] {
			s := Scope{Router: true, ID: p.DeviceID}
			if !slices.Contains(scopesOf[p.NetworkID], s) {
				scopesOf[p.NetworkID] = append(scopesOf[p.NetworkID], s)
			}
		}
	}
	for _, n := range d.Networks {
		scopesOf[n.ID] = append(scopesOf[n.ID], Scope{ID: n.ID})
	}
	for i := range d.Ports {
		p := &d.Ports[i]
		scopes := scopesOf[p.NetworkID]
		if len(scopes) == 0 {
			continue
		}
		inst := Instance{ID: p.DeviceID, Project: p.ProjectID, PortID: p.ID, signature: sign(p.DeviceID)}
		var mac [6]byte
		hw := p.MACAddress.HardwareAddr()
		hasMAC := len(hw) == 6
		copy(mac[:], hw)
		for _, s := range scopes {
			for _, f := range p.FixedIPs {
				k := scopedIP{s, f.IPAddress.Unmap()}
				ix.byIP[k] = append(ix.byIP[k], inst)
			}
			if hasMAC {
				k := scopedMAC{s, mac}
				ix.byMAC[k] = append(ix.byMAC[k], inst)
			}
		}
	}
	return ix
}

// lookup returns the instance behind src in scope: the one port holding
// the address, or for an IPv6 link-local source the one port with the MAC
// its EUI-64 identifier encodes (Neutron's filter on mac_address). No
// port, several, or one without a device_id: false.
func (ix *index) lookup(s Scope, src netip.Addr) (Instance, bool) {
	src = src.Unmap()
	var found []Instance
	if src.Is6() && src.IsLinkLocalUnicast() {
		mac, ok := eui64MAC(src)
		if !ok {
			return Instance{}, false
		}
		found = ix.byMAC[scopedMAC{s, mac}]
	} else {
		found = ix.byIP[scopedIP{s, src.WithZone("")}]
	}
	if len(found) != 1 || found[0].ID == "" {
		return Instance{}, false
	}
	return found[0], true
}

// eui64MAC recovers the MAC from a modified EUI-64 interface identifier
// (RFC 4291 appendix A): xx:xx:xx:ff:fe:xx:xx:xx, universal bit flipped.
func eui64MAC(a netip.Addr) ([6]byte, bool) {
	b := a.As16()
	if b[11] != 0xff || b[12] != 0xfe {
		return [6]byte{}, false
	}
	return [6]byte{b[8] ^ 0x02, b[9], b[10], b[13], b[14], b[15]}, true
}
