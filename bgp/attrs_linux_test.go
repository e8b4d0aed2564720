package bgp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	gobgp "github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// TestInteropCommunitiesLocalPref: the speaker's communities, large
// communities and local preference reach a real gobgpd on every path, over
// iBGP (LOCAL_PREF travels only there); changing them re-announces every
// path with the new ones; an eBGP peer gets the communities, never a
// LOCAL_PREF of ours.
func TestInteropCommunitiesLocalPref(t *testing.T) {
	l, spk, peer := peering(t)
	d := startDaemon(t, l, peer, ourAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS}) // iBGP
	sp := startSpeaker(t, l, spk)
	lp := uint32(250)
	speaker := Speaker{ID: "s4", LocalAS: ourAS, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"},
		Communities: []string{"64512:100", "no-export", "64512:7:9"}, LocalPref: &lp}
	peers := []Peer{{ID: "p1", PeerIP: daemonIP, RemoteAS: ourAS}}
	in := tenantWorld()
	want := Compute(speaker, in)
	sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
	waitRIB(t, d, want)
	waitAttrs(t, d, len(want), "communities [64512:100 65535:65281] large [64512:7:9] local-pref 250")

	t.Log("new communities and local-pref: every path is announced again with them")
	lp2 := uint32(90)
	speaker.Communities, speaker.LocalPref = []string{"64512:200"}, &lp2
	rep := sp.apply(Desired{Speaker: speaker, Peers: peers, Inputs: in})
	if rep.Report.Updated["speaker"] != 1 || rep.Report.Mutations() != 1 {
		t.Errorf("attribute change: %v", rep.Report.Changes)
	}
	waitAttrs(t, d, len(want), "communities [64512:200] large [] local-pref 90")

	t.Log("an eBGP peer gets the communities and no LOCAL_PREF")
	l2, spk2, peer2 := peering(t)
	d2 := startDaemon(t, l2, peer2, daemonAS, daemonIP, daemonNeighbor{Address: speakerIP, AS: ourAS})
	sp2 := startSpeaker(t, l2, spk2)
	sp2.apply(Desired{Speaker: speaker, Peers: []Peer{{ID: "p1", PeerIP: daemonIP, RemoteAS: daemonAS}}, Inputs: in})
	waitRIB(t, d2, want)
	waitAttrs(t, d2, len(want), "communities [64512:200] large [] local-pref none")
}

// waitAttrs waits until each of the daemon's n best paths carries exactly
// the attributes described by want.
func waitAttrs(t *testing.T, d *daemon, n int, want string) {
	t.Helper()
	var got map[string]int
	if !waitFor(30*time.Second, func() bool {
		got = d.attrs()
		return got[want] == n && len(got) == 1
	}) {
		t.Fatalf("the daemon's paths carry %v, want %d with %q", got, n, want)
	}
}

// attrs counts the daemon's best paths by their communities, large
// communities and local preference.
func (d *daemon) attrs() map[string]int {
	d.t.Helper()
	out := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := d.api.ListPath(ctx, &api.ListPathRequest{TableType: api.TableType_GLOBAL, Family: families[0]})
	if err != nil {
		d.t.Fatalf("gobgpd ListPath: %v", err)
	}
	for {
		r, err := stream.Recv()
		if err != nil {
			break
		}
		for _, p := range r.Destination.Paths {
			if !p.Best {
				continue
			}
			attrs, err := apiutil.GetNativePathAttributes(p)
			if err != nil {
				d.t.Fatal(err)
			}
			var comms, large []string
			lp := "none"
			for _, a := range attrs {
				switch a := a.(type) {
				case *gobgp.PathAttributeCommunities:
					for _, c := range a.Value {
						comms = append(comms, fmt.Sprintf("%d:%d", c>>16, c&0xffff))
					}
				case *gobgp.PathAttributeLargeCommunities:
					for _, c := range a.Values {
						large = append(large, fmt.Sprintf("%d:%d:%d", c.ASN, c.LocalData1, c.LocalData2))
					}
				case *gobgp.PathAttributeLocalPref:
					lp = fmt.Sprint(a.Value)
				}
			}
			slices.Sort(comms)
			out[fmt.Sprintf("communities [%s] large [%s] local-pref %s", strings.Join(comms, " "), strings.Join(large, " "), lp)]++
		}
	}
	return out
}
