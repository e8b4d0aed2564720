package secgroup

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/port"
)

// A trunk's sub-port is filtered as a port of its own, on the device the
// port realizer plans for it (tap<sub-port-id[:11]>, a VLAN of the
// parent's device: see port's TestTrunkPlanAddsSubPorts): its own groups
// and its own anti-spoofing MAC and addresses, none of the parent's.
func TestTrunkSubPortHasItsOwnPolicy(t *testing.T) {
	parent := unitPort("ttttttttttt-2", "n1", "fa:16:3e:00:00:02", []string{"web"}, "100.64.0.5")
	sub := unitPort("aaaaaaaaaaa-4", "n2", "fa:16:3e:00:00:04", []string{"db"}, "100.64.1.7")
	sub.DeviceOwner = port.OwnerTrunkSubport
	parent.TrunkDetails = &port.TrunkDetails{TrunkID: "t1", SubPorts: []port.SubPort{
		{PortID: sub.ID, SegmentationType: port.SegmentationVLAN, SegmentationID: 100}}}
	rs, nums := mustCompile(t, Desired{Groups: []SecurityGroup{DefaultGroup("web"), DefaultGroup("db")},
		Ports: []port.Port{parent, sub}}, numbers{})

	const subDev, parentDev = "tapaaaaaaaaaaa", "tapttttttttttt"
	n, ok := nums.ports[subDev]
	if !ok || len(nums.ports) != 2 {
		t.Fatalf("port numbers %v: want %s (the sub-port's VLAN device) and %s", nums.ports, subDev, parentDev)
	}
	info := rs.ports[n]
	if info == nil || info.id != sub.ID || !slices.Equal(info.groups, []string{"db"}) ||
		!slices.Equal(info.addrs, []netip.Prefix{netip.MustParsePrefix("100.64.1.7/32")}) {
		t.Errorf("sub-port policy %+v: want port %s, groups [db], addresses [100.64.1.7/32]", info, sub.ID)
	}
	if _, ok := rs.bridge.chainx[toChain(subDev)]; !ok {
		t.Errorf("no chain %s marking the sub-port's packets", toChain(subDev))
	}

	// Its packets go to its own groups' chains, the parent's to theirs.
	cfg, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	mark, pmark := markBytes(cfg.markOf(n)), markBytes(cfg.markOf(nums.ports[parentDev]))
	for _, x := range []struct{ m, dir string }{{mapEgress, Egress}, {mapIngress, Ingress}} {
		var got, gotParent []string
		for _, e := range rs.inet.setx[x.m].elems {
			switch {
			case bytes.Equal(e.key, mark):
				got = append(got, e.verdict)
			case bytes.Equal(e.key, pmark):
				gotParent = append(gotParent, e.verdict)
			}
		}
		if want := []string{"jump " + groupChain("db", x.dir)}; !slices.Equal(got, want) {
			t.Errorf("%s: sub-port verdicts %v, want %v", x.m, got, want)
		}
		if want := []string{"jump " + groupChain("web", x.dir)}; !slices.Equal(gotParent, want) {
			t.Errorf("%s: parent verdicts %v, want %v", x.m, gotParent, want)
		}
	}

	// Anti-spoofing: the sub-port's device may send from its MAC with its
	// address only; the parent's MAC and address are not allowed on it.
	var macs []string
	for _, e := range rs.bridge.setx[setMACs].elems {
		if bytes.HasPrefix(e.key, ifnameBytes(subDev)) {
			macs = append(macs, port.MAC(e.key[ifnameLen:ifnameLen+6]).String())
		}
	}
	if !slices.Equal(macs, []string{"fa:16:3e:00:00:04"}) {
		t.Errorf("MACs allowed on %s: %v, want only the sub-port's fa:16:3e:00:00:04", subDev, macs)
	}
	var v4 []string
	for _, e := range rs.bridge.setx[setPairs4].elems {
		if bytes.HasPrefix(e.key, ifnameBytes(subDev)) {
			a, _ := netip.AddrFromSlice(e.key[ifnameLen+macRegLen:])
			v4 = append(v4, port.MAC(e.key[ifnameLen:ifnameLen+6]).String()+" "+a.String())
		}
	}
	if !slices.Equal(v4, []string{"fa:16:3e:00:00:04 100.64.1.7"}) {
		t.Errorf("IPv4 sources allowed on %s: %v, want only fa:16:3e:00:00:04 100.64.1.7", subDev, v4)
	}
}
