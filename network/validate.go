package network

import (
	"errors"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/subnet"
)

// Segment and MTU bounds, from Neutron's type drivers and the kernel.
const (
	MaxVNI    = 1<<24 - 1 // VXLAN network identifiers are 24 bits; 0 is reserved
	MaxVLANID = 4094      // 802.1Q: 0 and 4095 are reserved
	MinMTU    = 68        // RFC 791: every IPv4 host must take 68-byte datagrams
	MaxMTU    = 65535
	// MinIPv6MTU is the least MTU of a link that carries IPv6 (RFC 8200),
	// which the document-level validation demands of a network with an IPv6
	// subnet.
	MinIPv6MTU = 1280
)

// Validate checks the network on its own, with paths relative to it. The
// provider attributes are checked as Neutron's ML2 type drivers do:
//
//   - vxlan: provider:segmentation_id (the VNI) 1..16777215 is required,
//     since Neutrino allocates no VNIs; no physical network.
//   - vlan: provider:segmentation_id 1..4094 and provider:physical_network.
//   - flat: provider:physical_network, no segmentation ID.
//   - local: neither.
//
// An empty provider:network_type is an error: Neutron fills it from its
// tenant_network_types; apply Defaults (or DefaultsFor with the configured
// tenant type). MTU 0 means "not given"; otherwise it is 68..65535. A single
// entry of segments must agree with the provider attributes; several, and a
// qos_policy_id, are refused with ErrUnsupported (unsupported.go).
// References to other objects, and the 1280-byte floor of networks with
// IPv6 subnets, are the document's to check (neutrino.Topology.Validate).
func (n *Network) Validate() error {
	var errs []error
	if n.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if n.MTU != 0 && (n.MTU < MinMTU || n.MTU > MaxMTU) {
		errs = append(errs, errdefs.Invalid("mtu", "%d is outside %d..%d", n.MTU, MinMTU, MaxMTU))
	}
	errs = append(errs, n.validateSegment(), n.validateSegments(), subnet.ValidateDomain("dns_domain", n.DNSDomain),
		errdefs.Refuse(n, refusals()))
	return errors.Join(errs...)
}

// validateSegments checks that a single segments entry says what the
// provider attributes say (Defaults copies it into them).
func (n *Network) validateSegments() error {
	if len(n.Segments) != 1 {
		return nil
	}
	if s := n.Segments[0]; s != (Segment{n.NetworkType, n.PhysicalNetwork, n.SegmentationID}) {
		return errdefs.Invalid("segments[0]", "%s/%s/%d differs from the provider attributes %s/%s/%d (network.Defaults copies a single segment into them)",
			s.NetworkType, s.PhysicalNetwork, s.SegmentationID, n.NetworkType, n.PhysicalNetwork, n.SegmentationID)
	}
	return nil
}

func (n *Network) validateSegment() error {
	const (
		seg  = "provider:segmentation_id"
		phys = "provider:physical_network"
	)
	var errs []error
	noPhysnet := func() {
		if n.PhysicalNetwork != "" {
			errs = append(errs, errdefs.Invalid(phys, "a %s network has no physical network", n.NetworkType))
		}
	}
	needPhysnet := func() {
		if n.PhysicalNetwork == "" {
			errs = append(errs, errdefs.Invalid(phys, "required for a %s network", n.NetworkType))
		}
	}
	noSegment := func() {
		if n.SegmentationID != 0 {
			errs = append(errs, errdefs.Invalid(seg, "a %s network has no segmentation ID", n.NetworkType))
		}
	}
	switch n.NetworkType {
	case TypeVXLAN:
		switch {
		case n.SegmentationID == 0:
			errs = append(errs, errdefs.Invalid(seg, "required for a vxlan network: Neutron allocates the VNI and shows it to admins only, and Neutrino allocates none; give the network's VNI (list networks with admin credentials)"))
		case n.SegmentationID < 1 || n.SegmentationID > MaxVNI:
			errs = append(errs, errdefs.Invalid(seg, "VNI %d is outside 1..%d", n.SegmentationID, MaxVNI))
		}
		noPhysnet()
	case TypeVLAN:
		if n.SegmentationID < 1 || n.SegmentationID > MaxVLANID {
			errs = append(errs, errdefs.Invalid(seg, "VLAN ID %d is outside 1..%d (required)", n.SegmentationID, MaxVLANID))
		}
		needPhysnet()
	case TypeFlat:
		needPhysnet()
		noSegment()
	case TypeLocal:
		noPhysnet()
		noSegment()
	case "":
		if len(n.Segments) < 2 {
			errs = append(errs, errdefs.Invalid("provider:network_type", "not given (vxlan, vlan, flat or local; network.Defaults sets the tenant network type, vxlan unless configured)"))
		}
	default:
		errs = append(errs, errdefs.Invalid("provider:network_type", "%q is not one of vxlan, vlan, flat, local", n.NetworkType))
	}
	return errors.Join(errs...)
}
