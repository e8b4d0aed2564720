package network

import "testing"

func TestDefaultsMTUByType(t *testing.T) {
	for _, tc := range []struct {
		in       Network
		wantType string
		wantMTU  int
	}{
		{Network{NetworkType: TypeVXLAN}, TypeVXLAN, 1450},
		{Network{NetworkType: TypeFlat}, TypeFlat, 1500},
		{Network{NetworkType: TypeVLAN}, TypeVLAN, 1500},
		{Network{}, TypeLocal, 1500},
		{Network{NetworkType: TypeVXLAN, MTU: 8950}, TypeVXLAN, 8950},
	} {
		n := tc.in
		Defaults(&n)
		if n.NetworkType != tc.wantType || n.MTU != tc.wantMTU {
			t.Errorf("Defaults(%+v) = %s/%d, want %s/%d", tc.in, n.NetworkType, n.MTU, tc.wantType, tc.wantMTU)
		}
	}
}
