package bgp

import (
	"context"
	"fmt"
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/neutrino-net/neutrino/internal/report"
)

// bulkMin is the number of announcements from which one call sends them to
// the peers as one table dump instead of path by path. gobgp turns every
// AddPath into its own UPDATE (one prefix each: 10,000 messages for 10,000
// routes, each handled on its own by the peer); a table dump packs every
// prefix sharing its attributes into UPDATEs of up to 4096 bytes (about 800
// IPv4 /32s each). Below this, per-path sending is cheaper than re-sending
// the table and keeps one change's latency at one AddPath.
const bulkMin = 64

// Apply makes the advertised routes exactly routes (the complete desired
// set, metallb style): it announces new routes and routes whose next hop
// changed (a re-announcement implicitly replaces the old path at the peers)
// and withdraws the others, one path at a time so that only those are sent.
// It diffs against what it announced earlier in this process: only this
// Server writes to the process's gobgp RIB. Invalid routes change nothing.
func (s *Server) Apply(ctx context.Context, routes []Route) (*Report, error) {
	return s.syncRoutes(ctx, routes, false)
}

// Plan reports what Apply would change, changing nothing.
func (s *Server) Plan(ctx context.Context, routes []Route) (*Report, error) {
	return s.syncRoutes(ctx, routes, true)
}

// Update changes only the given prefixes: announce adds or replaces routes,
// withdraw removes prefixes (one that is not advertised is ignored). A
// prefix in both is announced. Its cost is that of the change, whatever the
// number of routes advertised: it is the incremental counterpart of Apply.
func (s *Server) Update(ctx context.Context, announce []Route, withdraw []netip.Prefix) (*Report, error) {
	rep := &Report{}
	want, err := validateRoutes(announce)
	if err != nil {
		return rep, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.requireRunning(); err != nil {
		return rep, err
	}
	var add, del []Route
	for _, r := range announce {
		if nh, ok := s.advertised[r.Prefix]; !ok || nh != r.NextHop {
			add = append(add, r)
		}
	}
	for _, p := range withdraw {
		if _, keep := want[p]; keep {
			continue
		}
		if nh, ok := s.advertised[p]; ok {
			del = append(del, Route{Prefix: p, NextHop: nh})
		}
	}
	return rep, s.push(ctx, rep, add, del, false)
}

// Advertised returns the routes the server announces, sorted.
func (s *Server) Advertised() []Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Route, 0, len(s.advertised))
	for p, nh := range s.advertised {
		out = append(out, Route{Prefix: p, NextHop: nh})
	}
	SortRoutes(out)
	return out
}

func (s *Server) syncRoutes(ctx context.Context, routes []Route, dry bool) (*Report, error) {
	rep := &Report{}
	want, err := validateRoutes(routes)
	if err != nil {
		return rep, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.requireRunning(); err != nil {
		return rep, err
	}
	var add, withdraw []Route
	for p, nh := range want {
		if old, ok := s.advertised[p]; !ok || old != nh {
			add = append(add, Route{Prefix: p, NextHop: nh})
		}
	}
	for p, nh := range s.advertised {
		if _, ok := want[p]; !ok {
			withdraw = append(withdraw, Route{Prefix: p, NextHop: nh})
		}
	}
	return rep, s.push(ctx, rep, add, withdraw, dry)
}

// push records and (unless dry) sends the announcements and withdrawals,
// keeping s.advertised in step. The caller holds s.mu.
func (s *Server) push(ctx context.Context, rep *Report, add, withdraw []Route, dry bool) error {
	SortRoutes(add)
	SortRoutes(withdraw)
	for _, r := range add {
		if old, ok := s.advertised[r.Prefix]; ok {
			report.Recordf(rep, report.Update, "route", "advertise %s (was via %s)", r, old)
		} else {
			report.Recordf(rep, report.Create, "route", "advertise %s", r)
		}
	}
	for _, r := range withdraw {
		report.Recordf(rep, report.Delete, "route", "withdraw %s", r)
	}
	if dry {
		return nil
	}
	var errs []error
	// Withdraw first: a prefix never has two of our paths at the peers.
	// Withdrawals always go path by path: a held export would hide them
	// (see announceAll).
	for _, r := range withdraw {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.withdraw(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(s.advertised, r.Prefix)
	}
	errs = append(errs, s.announceAll(ctx, add)...)
	if len(errs) > 0 {
		return fmt.Errorf("bgp routes: %w", joinErrs(errs))
	}
	return nil
}

// announceAll adds the routes to gobgp's RIB. Many at once go to the peers
// as one packed table dump: while they are added, the export policy
// rejects everything, so gobgp sends nothing path by path (a rejected new
// path was never advertised, so nothing is withdrawn either); then the
// policy accepts again and a soft reset out sends each established peer its
// whole table at once, followed by End-of-RIB where graceful restart is
// negotiated. Re-sending routes a peer already has changes nothing there.
// A session that comes up while the export is held gets an empty table,
// then the full one at the soft reset.
func (s *Server) announceAll(ctx context.Context, add []Route) []error {
	var errs []error
	bulk := len(add) >= bulkMin
	if bulk {
		if err := s.setExport(ctx, api.RouteAction_REJECT); err != nil {
			return []error{fmt.Errorf("hold export: %w", err)}
		}
	}
	nh := map[netip.Addr]*anypb.Any{}
	for _, r := range add {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if err := s.announce(ctx, r, nh); err != nil {
			errs = append(errs, err)
			continue
		}
		s.advertised[r.Prefix] = r.NextHop
	}
	if bulk {
		// Not ctx: the export must be released even when ctx is done.
		bg := context.WithoutCancel(ctx)
		if err := s.setExport(bg, api.RouteAction_ACCEPT); err != nil {
			return append(errs, fmt.Errorf("release export: %w", err))
		}
		if err := s.bgp.ResetPeer(bg, &api.ResetPeerRequest{Address: "all", Soft: true, Direction: api.ResetPeerRequest_OUT}); err != nil {
			errs = append(errs, fmt.Errorf("send table: %w", err))
		}
	}
	return errs
}

func (s *Server) setExport(ctx context.Context, action api.RouteAction) error {
	return s.bgp.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: "global", Direction: api.PolicyDirection_EXPORT, DefaultAction: action,
	}})
}

func (s *Server) announce(ctx context.Context, r Route, nh map[netip.Addr]*anypb.Any) error {
	p, err := s.apiPath(r, false, nh)
	if err == nil {
		_, err = s.bgp.AddPath(ctx, &api.AddPathRequest{TableType: api.TableType_GLOBAL, Path: p})
	}
	if err != nil {
		return fmt.Errorf("advertise %s: %w", r, err)
	}
	return nil
}

func (s *Server) withdraw(ctx context.Context, r Route) error {
	// Never call DeletePath without a Path: gobgp then withdraws every
	// locally originated route.
	p, err := s.apiPath(r, true, nil)
	if err == nil {
		err = s.bgp.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Path: p})
	}
	if err != nil {
		return fmt.Errorf("withdraw %s: %w", r, err)
	}
	return nil
}

// apiPath builds the gobgp path of r: ORIGIN IGP, the next hop (NEXT_HOP
// for IPv4, in MP_REACH_NLRI for IPv6, RFC 4760) and the speaker's
// attributes (SetPathAttributes). gobgp only reads the attributes, so the
// same encoded ones serve every path; nh caches IPv4 next hops (nil: none).
func (s *Server) apiPath(r Route, withdraw bool, nh map[netip.Addr]*anypb.Any) (*api.Path, error) {
	nlri, err := anypb.New(&api.IPAddressPrefix{PrefixLen: uint32(r.Prefix.Bits()), Prefix: r.Prefix.Addr().String()})
	if err != nil {
		return nil, err
	}
	family := families[0]
	var hop *anypb.Any
	switch {
	case !r.Prefix.Addr().Is4():
		family = families[1]
		hop, err = anypb.New(&api.MpReachNLRIAttribute{Family: family, NextHops: []string{r.NextHop.String()}, Nlris: []*anypb.Any{nlri}})
	case nh[r.NextHop] != nil:
		hop = nh[r.NextHop]
	default:
		hop, err = anypb.New(&api.NextHopAttribute{NextHop: r.NextHop.String()})
		if err == nil && nh != nil {
			nh[r.NextHop] = hop
		}
	}
	if err != nil {
		return nil, err
	}
	attrs := make([]*anypb.Any, 0, 2+len(s.attrs.encoded))
	attrs = append(attrs, s.origin, hop)
	attrs = append(attrs, s.attrs.encoded...)
	return &api.Path{Family: family, Nlri: nlri, Pattrs: attrs, IsWithdraw: withdraw}, nil
}
