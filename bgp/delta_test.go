package bgp

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/router"
)

// TestUpdateFloatingIPs checks that each FIP delta sends exactly its
// change and leaves the server advertising what Compute gives for the
// whole changed document.
func TestUpdateFloatingIPs(t *testing.T) {
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRealizer(s, WithPassive())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t.Cleanup(func() { _ = s.Stop(ctx) })
	if _, err := r.UpdateFloatingIPs(ctx, nil, []string{"f1"}); !errors.Is(err, errdefs.ErrConflict) {
		t.Fatalf("before Apply: %v, want ErrConflict", err)
	}
	d := Desired{
		Speaker:  Speaker{ID: "s", LocalAS: 64512, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p"}},
		Peers:    []Peer{{ID: "p", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 64513}},
		Inputs:   fipWorld(200),
		RouterID: netip.MustParseAddr("198.18.0.1"),
	}
	if _, err := r.Apply(ctx, d); err != nil {
		t.Fatal(err)
	}
	byID := func(id string) int {
		return slices.IndexFunc(d.Inputs.FloatingIPs, func(f router.FloatingIP) bool { return f.ID == id })
	}
	newFIP := router.FloatingIP{ID: "new", FloatingIPAddress: netip.MustParseAddr("198.19.240.1"), FloatingNetworkID: "ext", RouterID: "r3", PortID: "vm-new"}
	moved := d.Inputs.FloatingIPs[byID("f7")]
	moved.RouterID = "r0" // another gateway: the next hop changes
	unassoc := d.Inputs.FloatingIPs[byID("f8")]
	unassoc.PortID = ""
	dup := d.Inputs.FloatingIPs[byID("f9")]
	dup.ID, dup.RouterID = "dup-of-f9", "r99" // a second candidate for f9's /32, via a higher gateway
	steps := []struct {
		name    string
		upsert  []router.FloatingIP
		deleted []string
		want    string
	}{
		{"add one", []router.FloatingIP{newFIP}, nil, "route:+1~0-0"},
		{"same again", []router.FloatingIP{newFIP}, nil, ""},
		{"move to another router", []router.FloatingIP{moved}, nil, "route:+0~1-0"},
		{"disassociate", []router.FloatingIP{unassoc}, nil, "route:+0~0-1"},
		{"a second candidate with a higher next hop changes nothing", []router.FloatingIP{dup}, nil, ""},
		{"delete the first: the second takes over", nil, []string{"f9"}, "route:+0~1-0"},
		{"delete unknown", nil, []string{"nope"}, ""},
		{"delete the new one", nil, []string{"new"}, "route:+0~0-1"},
	}
	for _, st := range steps {
		rep, err := r.UpdateFloatingIPs(ctx, st.upsert, st.deleted)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := counts(rep); got != st.want {
			t.Errorf("%s: report %q, want %q (%v)", st.name, got, st.want, rep.Changes)
		}
		// The same change, made to the document.
		for _, f := range st.upsert {
			if i := byID(f.ID); i >= 0 {
				d.Inputs.FloatingIPs[i] = f
			} else {
				d.Inputs.FloatingIPs = append(d.Inputs.FloatingIPs, f)
			}
		}
		for _, id := range st.deleted {
			if i := byID(id); i >= 0 {
				d.Inputs.FloatingIPs = slices.Delete(d.Inputs.FloatingIPs, i, i+1)
			}
		}
		if got, want := s.Advertised(), Compute(d.Speaker, d.Inputs); !slices.Equal(got, want) {
			t.Fatalf("%s: advertised %d routes, Compute of the changed document %d", st.name, len(got), len(want))
		}
	}
	if rep, err := r.Apply(ctx, d); err != nil || rep.Mutations() != 0 {
		t.Errorf("a full Apply after the deltas: %v, %v", err, rep.Changes)
	}
}
