package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
)

// Desired is what the network realizer makes of one host: the networks that
// have ports on it, and where the ports of those networks on other hosts are.
// port.L2ForHost builds it from a topology's collections.
type Desired struct {
	// Networks to realize on this host: those with at least one port
	// (of any device owner) bound to it. MTU and provider:network_type must
	// be set (network.Defaults fills them the way Neutron does).
	Networks []Network
	// LocalIP is this host's tunnel address (neutrino.Host.TunnelIP), the
	// source address of its VXLAN traffic. Required with a VXLAN network.
	LocalIP netip.Addr
	// Remote lists the ports of the desired networks that are bound to other
	// hosts: VXLAN networks get one flooding entry per remote host and a
	// unicast FDB entry and ARP/ND responder entries per remote port
	// (l2population). Other network types ignore them, as do endpoints of
	// networks that are not desired.
	Remote []Endpoint
}

// Endpoint is a port bound to another host.
type Endpoint struct {
	NetworkID string
	PortID    string
	MAC       net.HardwareAddr
	// IPs are the port's fixed IPs, answered by the local ARP/ND responder.
	IPs []netip.Addr
	// VTEP is the tunnel address of the host the port is bound to.
	VTEP netip.Addr
}

// want is a validated Desired, indexed for planning.
type want struct {
	networks []Network
	localIP  netip.Addr
	remote   map[string][]Endpoint // by network ID, sorted by port ID
}

// validate checks what the realizer relies on, with JSON-like paths, and
// indexes the desired state. It changes nothing in d.
func (d *Desired) validate() (*want, error) {
	var errs []error
	w := &want{localIP: d.LocalIP.Unmap(), remote: map[string][]Endpoint{}}
	byID := map[string]int{}
	bridges := map[string]int{}
	segments := map[string]int{} // "vxlan:101", "flat:physnet1", "vlan:physnet1:100"
	vxlan := false
	for i, n := range d.Networks {
		path := errdefs.Index("networks", i)
		if err := n.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		if n.MTU == 0 {
			errs = append(errs, errdefs.Invalid(path+".mtu", "not set: the realizer puts the network's MTU on every device (network.Defaults fills Neutron's)"))
			continue
		}
		if j, dup := byID[n.ID]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats networks[%d]", n.ID, j))
			continue
		}
		byID[n.ID] = i
		br := naming.Bridge(n.ID)
		if j, dup := bridges[br]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "%s and networks[%d] share the bridge name %s (the first 11 characters of their IDs)", n.ID, j, br))
			continue
		}
		bridges[br] = i
		if seg := segmentKey(n); seg != "" {
			if j, dup := segments[seg]; dup {
				errs = append(errs, errdefs.Conflict(path, "%s network %s uses the same segment as networks[%d]", n.NetworkType, n.ID, j))
				continue
			}
			segments[seg] = i
		}
		vxlan = vxlan || n.NetworkType == TypeVXLAN
		w.networks = append(w.networks, n)
	}
	if vxlan && !validUnicast(d.LocalIP) {
		errs = append(errs, errdefs.Invalid("local_ip", "%v is not a unicast address: VXLAN networks need this host's tunnel address", d.LocalIP))
	}
	errs = append(errs, w.indexRemote(d.Remote, byID, d.Networks))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(w.networks, func(a, b Network) int { return strings.Compare(a.ID, b.ID) })
	return w, nil
}

// segmentKey identifies the segment a network occupies on a host; two
// networks cannot share one. Local networks have none.
func segmentKey(n Network) string {
	switch n.NetworkType {
	case TypeVXLAN:
		return fmt.Sprintf("vxlan:%d", n.SegmentationID)
	case TypeFlat:
		return "flat:" + n.PhysicalNetwork
	case TypeVLAN:
		return fmt.Sprintf("vlan:%s:%d", n.PhysicalNetwork, n.SegmentationID)
	}
	return ""
}

// indexRemote validates the endpoints of desired VXLAN networks, the only
// ones that use them.
func (w *want) indexRemote(eps []Endpoint, byID map[string]int, nets []Network) error {
	var errs []error
	type key struct{ net, v string }
	seen := map[key]int{}
	for i, e := range eps {
		j, ok := byID[e.NetworkID]
		if !ok || nets[j].NetworkType != TypeVXLAN {
			continue
		}
		// The kernel reports IPv4 in 4-byte form: compare like with like.
		e.VTEP, e.IPs = e.VTEP.Unmap(), unmapAll(e.IPs)
		path := errdefs.Index("remote", i)
		var bad []error
		if e.PortID == "" {
			bad = append(bad, errdefs.Invalid(path+".port_id", "required"))
		}
		if len(e.MAC) != 6 || e.MAC[0]&1 != 0 {
			bad = append(bad, errdefs.Invalid(path+".mac", "%v is not a unicast 48-bit MAC address", e.MAC))
		}
		switch {
		case !validUnicast(e.VTEP):
			bad = append(bad, errdefs.Invalid(path+".vtep", "%v is not a unicast address", e.VTEP))
		case e.VTEP == w.localIP:
			bad = append(bad, errdefs.Invalid(path+".vtep", "%v is this host's own tunnel address: the port is local", e.VTEP))
		case e.VTEP.Is4() != w.localIP.Is4():
			bad = append(bad, errdefs.Invalid(path+".vtep", "%v and the local tunnel address %v are of different IP versions", e.VTEP, w.localIP))
		}
		for k, ip := range e.IPs {
			if !validUnicast(ip) {
				bad = append(bad, errdefs.Invalid(fmt.Sprintf("%s.ips[%d]", path, k), "%v is not a unicast address", ip))
			}
		}
		if len(bad) > 0 {
			errs = append(errs, bad...)
			continue
		}
		for _, v := range append([]string{e.MAC.String()}, addrStrings(e.IPs)...) {
			k := key{e.NetworkID, v}
			if prev, dup := seen[k]; dup {
				errs = append(errs, errdefs.Conflict(path, "%s is used by remote[%d] too on network %s", v, prev, e.NetworkID))
			}
			seen[k] = i
		}
		w.remote[e.NetworkID] = append(w.remote[e.NetworkID], e)
	}
	for _, list := range w.remote {
		slices.SortFunc(list, func(a, b Endpoint) int { return strings.Compare(a.PortID, b.PortID) })
	}
	return errors.Join(errs...)
}

func validUnicast(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && !(a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}))
}

func unmapAll(as []netip.Addr) []netip.Addr {
	out := make([]netip.Addr, len(as))
	for i, a := range as {
		out[i] = a.Unmap()
	}
	return out
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}
