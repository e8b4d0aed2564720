package network

import (
	"strings"
	"testing"
)

func TestDefaultsMTUByType(t *testing.T) {
	for _, tc := range []struct {
		in       Network
		wantType string
		wantMTU  int
	}{
		{Network{NetworkType: TypeVXLAN}, TypeVXLAN, 1450},
		{Network{NetworkType: TypeFlat}, TypeFlat, 1500},
		{Network{NetworkType: TypeVLAN}, TypeVLAN, 1500},
		{Network{}, TypeVXLAN, 1450},
		{Network{Segments: []Segment{{NetworkType: TypeFlat, PhysicalNetwork: "p"}}}, TypeFlat, 1500},
		{Network{NetworkType: TypeVXLAN, MTU: 8950}, TypeVXLAN, 8950},
	} {
		n := tc.in
		Defaults(&n)
		if n.NetworkType != tc.wantType || n.MTU != tc.wantMTU {
			t.Errorf("Defaults(%+v) = %s/%d, want %s/%d", tc.in, n.NetworkType, n.MTU, tc.wantType, tc.wantMTU)
		}
	}
}

// A network listed without the admin-only provider attributes takes the
// configured tenant network type, never a silent local; the VNI is not
// invented.
func TestDefaultsForTenantNetworkType(t *testing.T) {
	n := Network{ID: "n"}
	DefaultsFor(&n, TypeLocal)
	if n.NetworkType != TypeLocal || n.MTU != 1500 || n.Validate() != nil {
		t.Errorf("tenant type local: %+v (%v)", n, n.Validate())
	}
	n = Network{ID: "n"}
	Defaults(&n)
	err := n.Validate()
	if n.NetworkType != TypeVXLAN || n.SegmentationID != 0 || err == nil ||
		!strings.Contains(err.Error(), "provider:segmentation_id: required for a vxlan network") {
		t.Errorf("default tenant type: %+v, %v", n, err)
	}
	n = Network{ID: "n", Segments: []Segment{{NetworkType: TypeVXLAN, SegmentationID: 7}}}
	Defaults(&n)
	if n.NetworkType != TypeVXLAN || n.SegmentationID != 7 || n.Validate() != nil {
		t.Errorf("single segment: %+v (%v)", n, n.Validate())
	}
}
