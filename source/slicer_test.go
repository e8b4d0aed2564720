package source

import (
	"encoding/json"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/port"
)

func TestSlicerReslicesOnlyWhatConcernsTheHost(t *testing.T) {
	topo := twoNode(t)
	objs, err := Split(topo)
	require.NoError(t, err)
	o := NewObjects()
	put(t, o, objs)
	snap := func(changes ...Change) *Snapshot {
		for _, c := range changes {
			if c.Value == nil {
				o.Delete(c.Ref)
			} else {
				require.NoError(t, o.Put(c.Ref, c.Value))
			}
		}
		cur, err := o.Topology()
		require.NoError(t, err)
		return NewSnapshot(cur, 0, &Delta{Changes: changes})
	}
	h3 := topo.Hosts[1]
	h3.Name, h3.TunnelIP = "node3", netip.MustParseAddr("198.18.0.3")
	hb, _ := json.Marshal(h3)
	require.NoError(t, o.Put(Ref{"hosts", "node3"}, hb))
	s1, s2, s3 := NewSlicer("node1"), NewSlicer("node2"), NewSlicer("node3")
	first := snap()
	first.Delta = nil
	for _, s := range []*Slicer{s1, s2, s3} {
		changed, err := s.Update(first)
		require.NoError(t, err)
		require.True(t, changed, "the first snapshot is sliced")
	}
	require.NotEmpty(t, s1.Slice().Ports)
	require.Empty(t, s3.Slice().Ports, "a host with nothing has an empty slice")

	// A new network nobody uses concerns nobody.
	n := topo.Networks[0]
	n.ID, n.Name, n.SegmentationID = "aaaaaaaa-0000-4000-8000-000000000001", "unused", 4242
	nb, _ := json.Marshal(n)
	s := snap(Change{Ref{"networks", n.ID}, nb})
	for _, sl := range []*Slicer{s1, s2, s3} {
		changed, err := sl.Update(s)
		require.NoError(t, err)
		require.False(t, changed)
	}

	// A port of node1 renamed: in every slice of the shared network.
	p := topo.Ports[0]
	p.Name = "renamed"
	pb, _ := json.Marshal(p)
	s = snap(Change{Ref{"ports", p.ID}, pb})
	for _, sl := range []*Slicer{s1, s2} {
		changed, err := sl.Update(s)
		require.NoError(t, err)
		require.True(t, changed)
	}
	changed, _ := s3.Update(s)
	require.False(t, changed)

	// A port bound to node3 on the unused network: node3 gains it, the
	// others do not see a network they have no port on.
	q := p
	q.ID, q.NetworkID, q.HostID, q.FixedIPs, q.Name = "bbbbbbbb-0000-4000-8000-000000000002", n.ID, "node3", nil, "p3"
	mac, err := net.ParseMAC("fa:16:3e:99:00:01")
	require.NoError(t, err)
	q.MACAddress = port.MAC(mac)
	qb, _ := json.Marshal(q)
	s = snap(Change{Ref{"ports", q.ID}, qb})
	changed, _ = s3.Update(s)
	require.True(t, changed)
	require.Len(t, s3.Slice().Ports, 1)
	for _, sl := range []*Slicer{s1, s2} {
		changed, _ := sl.Update(s)
		require.False(t, changed)
	}

	// Every slice must equal the slice of the full document.
	for _, sl := range []*Slicer{s1, s2, s3} {
		want, err := s.Topology().ForHost(sl.host)
		require.NoError(t, err)
		require.Equal(t, want, sl.Slice(), sl.host)
	}

	// A host's tunnel address is in every slice.
	h3.TunnelIP = netip.MustParseAddr("198.18.0.33")
	hb, _ = json.Marshal(h3)
	s = snap(Change{Ref{"hosts", "node3"}, hb})
	for _, sl := range []*Slicer{s1, s2, s3} {
		changed, _ := sl.Update(s)
		require.True(t, changed)
		require.Contains(t, sl.Slice().Hosts, h3)
	}

	// Deleting node3's port empties its slice again.
	s = snap(Change{Ref: Ref{"ports", q.ID}})
	changed, _ = s3.Update(s)
	require.True(t, changed)
	require.Empty(t, s3.Slice().Ports)
}
