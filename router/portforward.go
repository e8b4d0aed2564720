package router

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/subnet"
)

// PortForwarding is a port forwarding of a floating IP (Neutron's
// /floatingips/{id}/port_forwardings): TCP or UDP to the floating IP's
// external port (or each port of a range) is translated to an internal
// address and port of an instance. It is written under its floating IP, as
// Neutron's API nests it; the top-level port_forwardings collection stays
// refused (see unsupported.go at the module root).
type PortForwarding struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	// InternalPortID is the instance's port; InternalIPAddress one of its
	// IPv4 fixed IPs. Neutron fills the address in when it is omitted; a
	// document written for Neutrino must name it.
	InternalPortID    string     `json:"internal_port_id"`
	InternalIPAddress netip.Addr `json:"internal_ip_address,omitzero"`
	// InternalPort and ExternalPort (1–65535), or the ranges "a:b"; a
	// range maps one to one onto a range of the same length, or many
	// external ports onto one internal port.
	InternalPort      int    `json:"internal_port,omitempty"`
	ExternalPort      int    `json:"external_port,omitempty"`
	InternalPortRange string `json:"internal_port_range,omitempty"`
	ExternalPortRange string `json:"external_port_range,omitempty"`
	// Protocol is "tcp" or "udp".
	Protocol string `json:"protocol"`
}

// portRange is an inclusive range of L4 ports.
type portRange struct{ lo, hi uint16 }

func (r portRange) len() int { return int(r.hi) - int(r.lo) + 1 }

func (r portRange) overlaps(o portRange) bool { return r.lo <= o.hi && o.lo <= r.hi }

func (r portRange) String() string {
	if r.lo == r.hi {
		return strconv.Itoa(int(r.lo))
	}
	return fmt.Sprintf("%d:%d", r.lo, r.hi)
}

// protocol numbers of the forwarded protocols.
const (
	protoTCP = 6
	protoUDP = 17
)

func (pf *PortForwarding) proto() uint8 {
	if pf.Protocol == "udp" {
		return protoUDP
	}
	return protoTCP
}

// ports returns the side's port or range, with the field that gave it.
func side(port int, rng, portField, rangeField string) (portRange, error) {
	switch {
	case port != 0 && rng != "":
		return portRange{}, errdefs.Invalid(rangeField, "given with %s: one of them", portField)
	case port != 0:
		if port < 1 || port > 65535 {
			return portRange{}, errdefs.Invalid(portField, "%d is not a port (1-65535)", port)
		}
		return portRange{uint16(port), uint16(port)}, nil
	case rng != "":
		lo, hi, ok := strings.Cut(rng, ":")
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
			return portRange{}, errdefs.Invalid(rangeField, "%q is not a port range a:b with 1 <= a <= b <= 65535", rng)
		}
		return portRange{uint16(a), uint16(b)}, nil
	}
	return portRange{}, errdefs.Invalid(portField, "required (or %s)", rangeField)
}

// ranges returns the external and internal ranges of a valid forwarding.
func (pf *PortForwarding) ranges() (ext, in portRange, err error) {
	ext, err1 := side(pf.ExternalPort, pf.ExternalPortRange, "external_port", "external_port_range")
	in, err2 := side(pf.InternalPort, pf.InternalPortRange, "internal_port", "internal_port_range")
	if err := errors.Join(err1, err2); err != nil {
		return ext, in, err
	}
	// Neutron's _validate_ranges: N:N, or N external ports to one.
	if in.len() != 1 && in.len() != ext.len() {
		return ext, in, errdefs.Invalid("internal_port_range", "%s has %d ports and external %s %d: ranges map one to one (same length) or onto one internal port",
			in, in.len(), ext, ext.len())
	}
	return ext, in, nil
}

// Validate checks the forwarding on its own, with paths relative to it.
// Whether the address is the port's is the document's to check.
func (pf *PortForwarding) Validate() error {
	var errs []error
	if pf.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if pf.InternalPortID == "" {
		errs = append(errs, errdefs.Invalid("internal_port_id", "required"))
	}
	if !pf.InternalIPAddress.IsValid() {
		errs = append(errs, errdefs.Invalid("internal_ip_address", "required: the IPv4 fixed IP of the internal port to forward to"))
	} else if err := subnet.ValidateAddr("internal_ip_address", pf.InternalIPAddress); err != nil {
		errs = append(errs, err)
	} else if !pf.InternalIPAddress.Is4() {
		errs = append(errs, errdefs.Invalid("internal_ip_address", "%s: port forwarding is IPv4", pf.InternalIPAddress))
	}
	if pf.Protocol != "tcp" && pf.Protocol != "udp" {
		errs = append(errs, errdefs.Invalid("protocol", "%q: tcp or udp", pf.Protocol))
	}
	if _, _, err := pf.ranges(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validatePortForwardings checks a floating IP's forwardings and that no
// two of them claim the same external port of a protocol (Neutron's
// _check_port_collisions), nor the same internal address, port and
// protocol. Claims are sorted, so that thousands of forwardings on one
// floating IP cost n log n, not n².
func (f *FloatingIP) validatePortForwardings() error {
	var errs []error
	type claim struct {
		i     int
		proto uint8
		addr  netip.Addr // internal claims only
		r     portRange
	}
	var exts, ins []claim
	ids := map[string]int{}
	for i := range f.PortForwardings {
		pf := &f.PortForwardings[i]
		path := errdefs.Index("port_forwardings", i)
		if err := pf.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		if j, dup := ids[pf.ID]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "%s repeats port_forwardings[%d]", pf.ID, j))
			continue
		}
		ids[pf.ID] = i
		ext, in, _ := pf.ranges()
		exts = append(exts, claim{i, pf.proto(), netip.Addr{}, ext})
		ins = append(ins, claim{i, pf.proto(), pf.InternalIPAddress, in})
	}
	// overlaps reports each claim that overlaps an earlier one of the same
	// protocol and address, after sorting by (protocol, address, start,
	// position).
	overlaps := func(cs []claim, field string, what func(c claim) string) {
		slices.SortFunc(cs, func(a, b claim) int {
			return cmp.Or(cmp.Compare(a.proto, b.proto), a.addr.Compare(b.addr), cmp.Compare(a.r.lo, b.r.lo), cmp.Compare(a.i, b.i))
		})
		var last *claim // the claim reaching furthest in the current group
		for k := range cs {
			c := &cs[k]
			if last != nil && last.proto == c.proto && last.addr == c.addr && last.r.overlaps(c.r) {
				first, second := last, c
				if second.i < first.i {
					first, second = second, first
				}
				errs = append(errs, errdefs.Conflict(errdefs.Index("port_forwardings", second.i)+"."+field,
					"%s overlaps port_forwardings[%d]'s %s", what(*second), first.i, first.r))
				if c.r.hi <= last.r.hi {
					continue
				}
			}
			if last == nil || last.proto != c.proto || last.addr != c.addr || c.r.hi > last.r.hi {
				last = c
			}
		}
	}
	overlaps(exts, "external_port", func(c claim) string { return protoName(c.proto) + " " + c.r.String() })
	overlaps(ins, "internal_port", func(c claim) string { return fmt.Sprintf("%s %s:%s", protoName(c.proto), c.addr, c.r) })
	if len(f.PortForwardings) > 0 && f.Associated() {
		// Neutron: a FIP used for port forwarding cannot be associated.
		errs = append(errs, errdefs.Conflict("port_forwardings", "floating IP is associated with port %s: a floating IP is either associated or forwards ports", f.PortID))
	}
	if len(f.PortForwardings) > 0 && f.RouterID == "" {
		errs = append(errs, errdefs.Invalid("router_id", "required with port_forwardings: the router that translates them"))
	}
	return errors.Join(errs...)
}

// pfKey is one external port of a floating IP; pfVal where it leads.
type pfKey struct {
	FIP   netip.Addr
	Proto uint8
	Port  uint16
}

type pfVal struct {
	Addr netip.Addr
	Port uint16
}

func (k pfKey) String() string {
	return fmt.Sprintf("%s . %s . %d", k.FIP, protoName(k.Proto), k.Port)
}

func (v pfVal) String() string { return fmt.Sprintf("%s . %d", v.Addr, v.Port) }

func protoName(p uint8) string {
	if p == protoUDP {
		return "udp"
	}
	return "tcp"
}

// elements expands a valid forwarding of floating IP fip into one map
// element per external port: nftables NAT cannot offset a port range (as
// iptables' base-offset mapping does), so a range of N ports is N elements.
// A change to one forwarding touches its own elements only.
func (pf *PortForwarding) elements(fip netip.Addr, into map[pfKey]pfVal) {
	ext, in, err := pf.ranges()
	if err != nil {
		return
	}
	for p := int(ext.lo); p <= int(ext.hi); p++ {
		to := in.lo
		if in.len() > 1 {
			to = in.lo + uint16(p-int(ext.lo))
		}
		into[pfKey{fip, pf.proto(), uint16(p)}] = pfVal{pf.InternalIPAddress, to}
	}
}
