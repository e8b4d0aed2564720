package network

import (
	"errors"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func TestValidateSegments(t *testing.T) {
	ok := []Network{
		{ID: "n", NetworkType: TypeVXLAN, SegmentationID: 1},
		{ID: "n", NetworkType: TypeVXLAN, SegmentationID: MaxVNI, MTU: 1450},
		{ID: "n", NetworkType: TypeVLAN, SegmentationID: 4094, PhysicalNetwork: "physnet1"},
		{ID: "n", NetworkType: TypeFlat, PhysicalNetwork: "physnet1", External: true, MTU: 9000},
		{ID: "n", NetworkType: TypeLocal, MTU: 68, DNSDomain: "example.org."},
	}
	for _, n := range ok {
		if err := n.Validate(); err != nil {
			t.Errorf("%+v: %v", n, err)
		}
	}
	for _, tc := range []struct {
		n    Network
		path string
	}{
		{Network{NetworkType: TypeLocal}, "id: required"},
		{Network{ID: "n"}, "provider:network_type: not given"},
		{Network{ID: "n", NetworkType: "gre"}, `provider:network_type: "gre" is not one of`},
		{Network{ID: "n", NetworkType: TypeVXLAN}, "provider:segmentation_id: required for a vxlan network"},
		{Network{ID: "n", NetworkType: TypeVXLAN, SegmentationID: 5, Segments: []Segment{{NetworkType: TypeVXLAN, SegmentationID: 6}}}, "segments[0]: vxlan//6 differs"},
		{Network{ID: "n", NetworkType: TypeVXLAN, SegmentationID: MaxVNI + 1}, "VNI 16777216 is outside"},
		{Network{ID: "n", NetworkType: TypeVXLAN, SegmentationID: 5, PhysicalNetwork: "p"}, "provider:physical_network: a vxlan network has no physical network"},
		{Network{ID: "n", NetworkType: TypeVLAN, SegmentationID: 4095, PhysicalNetwork: "p"}, "VLAN ID 4095 is outside 1..4094"},
		{Network{ID: "n", NetworkType: TypeVLAN, SegmentationID: 10}, "provider:physical_network: required for a vlan network"},
		{Network{ID: "n", NetworkType: TypeFlat}, "provider:physical_network: required for a flat network"},
		{Network{ID: "n", NetworkType: TypeFlat, PhysicalNetwork: "p", SegmentationID: 3}, "provider:segmentation_id: a flat network has no segmentation ID"},
		{Network{ID: "n", NetworkType: TypeLocal, PhysicalNetwork: "p"}, "provider:physical_network: a local network"},
		{Network{ID: "n", NetworkType: TypeLocal, MTU: 67}, "mtu: 67 is outside 68..65535"},
		{Network{ID: "n", NetworkType: TypeLocal, MTU: 65536}, "mtu: 65536 is outside"},
		{Network{ID: "n", NetworkType: TypeLocal, DNSDomain: "a..b"}, "dns_domain:"},
	} {
		err := tc.n.Validate()
		if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%+v: got %v, want ErrInvalid at %q", tc.n, err, tc.path)
		}
	}
}

func TestValidateRefusesUnrealizedFields(t *testing.T) {
	two := []Segment{{NetworkType: TypeVXLAN, SegmentationID: 5}, {NetworkType: TypeFlat, PhysicalNetwork: "p"}}
	for _, tc := range []struct {
		n    Network
		path string
	}{
		{Network{ID: "n", Segments: two}, "segments: not realized"},
	} {
		err := tc.n.Validate()
		if !errors.Is(err, errdefs.ErrUnsupported) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%+v: got %v, want ErrUnsupported at %q", tc.n, err, tc.path)
		}
		if strings.Contains(err.Error(), "provider:network_type") {
			t.Errorf("a multi-segment network has no provider attributes; only the refusal is news: %v", err)
		}
	}
}

func FuzzNetworkValidate(f *testing.F) {
	f.Add("vxlan", "", 101, 1450)
	f.Add("flat", "physnet1", 0, 0)
	f.Add("vlan", "physnet1", 4095, 1280)
	f.Fuzz(func(t *testing.T, typ, physnet string, seg, mtu int) {
		n := Network{ID: "n", NetworkType: typ, PhysicalNetwork: physnet, SegmentationID: seg, MTU: mtu}
		err := n.Validate()
		if err != nil && (err.Error() == "" || !errors.Is(err, errdefs.ErrInvalid)) {
			t.Fatalf("bad error %v", err)
		}
		if err == nil && (mtu != 0 && (mtu < MinMTU || mtu > MaxMTU)) {
			t.Fatalf("MTU %d accepted", mtu)
		}
		Defaults(&n)
		if n.MTU == 0 || n.NetworkType == "" {
			t.Fatalf("Defaults left %+v", n)
		}
	})
}
