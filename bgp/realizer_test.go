package bgp

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// TestRealizerTranscript applies a sequence of desired states to a passive,
// non-listening server (nothing leaves the process) and checks what each
// Plan and Apply reports, and what ends up in gobgp's RIB.
func TestRealizerTranscript(t *testing.T) {
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

	in := tenantWorld()
	sp := Speaker{ID: "s4", LocalAS: 64512, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1"}}
	peers := []Peer{{ID: "p1", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 64513}, {ID: "unused", PeerIP: netip.MustParseAddr("198.18.0.3"), RemoteAS: 1}}
	base := Desired{Speaker: sp, Peers: peers, Inputs: in, RouterID: netip.MustParseAddr("198.18.0.1")}

	lessFIP := base
	lessFIP.Inputs.FloatingIPs = slices.Clone(in.FloatingIPs)
	lessFIP.Inputs.FloatingIPs[1].PortID = ""

	newAS := lessFIP
	newAS.Speaker.LocalAS = 64600

	steps := []struct {
		name string
		d    Desired
		want string
	}{
		{"start", base, "speaker:+1~0-0 peer:+1~0-0 route:+5~0-0"},
		{"same again", base, ""},
		{"one FIP unassociated", lessFIP, "route:+0~0-1"},
		{"new local AS restarts the speaker", newAS, "speaker:+0~1-0 peer:+1~0-0 route:+4~0-0"},
		{"no speaker stops BGP", Desired{}, "speaker:+0~0-1"},
		{"stopped stays stopped", Desired{}, ""},
	}
	for _, st := range steps {
		plan, err := r.Plan(ctx, st.d)
		if err != nil {
			t.Fatalf("%s: plan: %v", st.name, err)
		}
		rep, err := r.Apply(ctx, st.d)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if counts(rep) != st.want || counts(plan) != st.want {
			t.Errorf("%s: report %q plan %q, want %q\n%s", st.name, counts(rep), counts(plan), st.want, strings.Join(rep.Changes, "\n"))
		}
		if !slices.Equal(plan.Changes, rep.Changes) {
			t.Errorf("%s: plan and apply differ:\n%v\n%v", st.name, plan.Changes, rep.Changes)
		}
		if _, running := s.Running(); running != (st.d.Speaker.ID != "") {
			t.Fatalf("%s: running %v", st.name, running)
		} else if running {
			if got, want := rib(t, s), Compute(st.d.Speaker, st.d.Inputs); !slices.Equal(got, want) {
				t.Errorf("%s: RIB\n got %v\nwant %v", st.name, got, want)
			}
		}
	}
}

func TestRealizerInvalidChangesNothing(t *testing.T) {
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := NewRealizer(s, WithPassive())
	ctx := context.Background()
	sp := Speaker{ID: "s4", LocalAS: 64512, IPVersion: 4, Networks: []string{"ext"}, Peers: []string{"p1", "missing"}}
	_, err = r.Apply(ctx, Desired{Speaker: sp, Peers: []Peer{{ID: "p1", PeerIP: netip.MustParseAddr("198.18.0.2"), RemoteAS: 1}}})
	if !errors.Is(err, errdefs.ErrNotFound) || !strings.Contains(err.Error(), "peers[1]") {
		t.Errorf("a missing peer: %v, want ErrNotFound at peers[1]", err)
	}
	sp.Peers, sp.IPVersion = nil, 5
	if _, err := r.Apply(ctx, Desired{Speaker: sp, RouterID: netip.MustParseAddr("198.18.0.1")}); !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("ip_version 5: %v, want ErrInvalid", err)
	}
	sp.IPVersion = 4
	if _, err := r.Apply(ctx, Desired{Speaker: sp}); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "router_id") {
		t.Errorf("no router ID and no IPv4 peer: %v, want ErrInvalid at router_id", err)
	}
	if _, running := s.Running(); running {
		t.Error("an invalid desired state started the server")
	}
}
