package source

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/secgroup"
	"github.com/neutrino-net/neutrino/subnet"
)

// TestSlicerNeverMissesAChange applies random changes — ports added,
// moved between hosts and networks, joining and leaving groups, deleted;
// a group's rule pointing at a remote group or not — and after each one
// requires every host's incrementally kept slice to equal ForHost of the
// whole document.
func TestSlicerNeverMissesAChange(t *testing.T) {
	const hosts, nets = 5, 3
	objs := NewObjects(WithDefaults(true))
	put := func(coll, id string, v any) Change {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, objs.Put(Ref{coll, id}, b))
		return Change{Ref: Ref{coll, id}, Value: b}
	}
	netID := func(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-00000000000e", n) }
	subID := func(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-00000000005b", n) }
	sgID := func(g int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000090", g) }
	portID := func(p int) string { return fmt.Sprintf("%08x-0000-4000-8000-00000000001a", p) }
	for h := range hosts {
		put("hosts", fmt.Sprintf("h%d", h), neutrino.Host{Name: fmt.Sprintf("h%d", h),
			TunnelIP: netip.AddrFrom4([4]byte{198, 18, 0, byte(h + 1)})})
	}
	for n := range nets {
		put("networks", netID(n), network.Network{ID: netID(n), NetworkType: network.TypeVXLAN, SegmentationID: 100 + n})
		put("subnets", subID(n), subnet.Subnet{ID: subID(n), NetworkID: netID(n), IPVersion: 4,
			CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(n), 0}), 24)})
	}
	group := func(g int, remote bool) secgroup.SecurityGroup {
		r := secgroup.Rule{ID: sgID(g) + "-r", Direction: secgroup.Ingress, Ethertype: secgroup.IPv4}
		if remote {
			r.RemoteGroupID = sgID(0)
		}
		return secgroup.SecurityGroup{ID: sgID(g), Rules: []secgroup.Rule{r}}
	}
	put("security_groups", sgID(0), group(0, false))
	put("security_groups", sgID(1), group(1, true))

	rng := rand.New(rand.NewPCG(1, 2))
	slicers := make([]*Slicer, hosts)
	doc, err := objs.Topology()
	require.NoError(t, err)
	for h := range slicers {
		slicers[h] = NewSlicer(fmt.Sprintf("h%d", h))
		_, err := slicers[h].Update(NewSnapshot(doc, 0, nil))
		require.NoError(t, err)
	}
	skipped, resliced := 0, 0
	for step := range 400 {
		var c Change
		p := rng.IntN(12)
		switch op := rng.IntN(10); {
		case op < 7: // add or modify a port
			n := rng.IntN(nets)
			pt := port.Port{ID: portID(p), NetworkID: netID(n), HostID: fmt.Sprintf("h%d", rng.IntN(hosts)),
				MACAddress:  port.MAC{0xfa, 0x16, 0x3e, 0, byte(step >> 8), byte(step)},
				FixedIPs:    []port.FixedIP{{SubnetID: subID(n), IPAddress: netip.AddrFrom4([4]byte{100, 64, byte(n), byte(10 + p)})}},
				DeviceOwner: "compute:nova"}
			for g := range 2 {
				if rng.IntN(2) == 0 {
					pt.SecurityGroups = append(pt.SecurityGroups, sgID(g))
				}
			}
			c = put("ports", pt.ID, pt)
		case op < 9: // delete a port
			objs.Delete(Ref{"ports", portID(p)})
			c = Change{Ref: Ref{"ports", portID(p)}}
		default: // group 1's rule points at group 0, or not
			c = put("security_groups", sgID(1), group(1, rng.IntN(2) == 0))
		}
		doc, err := objs.Topology()
		require.NoError(t, err, "step %d", step)
		snap := NewSnapshot(doc, int64(step+1), &Delta{Changes: []Change{c}})
		for _, s := range slicers {
			changed, err := s.Update(snap)
			require.NoError(t, err)
			if changed {
				resliced++
			} else {
				skipped++
			}
			want, err := doc.ForHost(s.host)
			require.NoError(t, err)
			require.Equal(t, want, s.Slice(), "step %d: %s after %s", step, s.host, c.Ref)
		}
	}
	t.Logf("%d updates re-sliced, %d skipped", resliced, skipped)
	require.Positive(t, skipped, "the test exercises skipping")
	require.Positive(t, resliced)
}
