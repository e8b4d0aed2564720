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
// tenant_network_types; apply Defaults for Neutron's historical default,
// local. MTU 0 means "not given"; otherwise it is 68..65535. References to
// other objects, and the 1280-byte floor of networks with IPv6 subnets, are
// the document's to check (neutrino.Topology.Validate).
func (n *Network) Validate() error {
	var errs []error
	if n.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if n.MTU != 0 && (n.MTU < MinMTU || n.MTU > MaxMTU) {
		errs = append(errs, errdefs.Invalid("mtu", "%d is outside %d..%d", n.MTU, MinMTU, MaxMTU))
	}
	errs = append(errs, n.validateSegment(), subnet.ValidateDomain("dns_domain", n.DNSDomain))
	return errors.Join(errs...)
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
		if n.SegmentationID < 1 || n.SegmentationID > MaxVNI {
			errs = append(errs, errdefs.Invalid(seg, "VNI %d is outside 1..%d (required: Neutrino allocates no VNIs)", n.SegmentationID, MaxVNI))
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
		errs = append(errs, errdefs.Invalid("provider:network_type", "not given (vxlan, vlan, flat or local; network.Defaults sets local)"))
	default:
		errs = append(errs, errdefs.Invalid("provider:network_type", "%q is not one of vxlan, vlan, flat, local", n.NetworkType))
	}
	return errors.Join(errs...)
}
