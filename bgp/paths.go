package bgp

import (
	"context"
	"fmt"

	api "github.com/osrg/gobgp/v3/api"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/neutrino-net/neutrino/internal/report"
)

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
	SortRoutes(add)
	SortRoutes(withdraw)
	for _, r := range add {
		if _, ok := s.advertised[r.Prefix]; ok {
			report.Recordf(rep, report.Update, "route", "advertise %s (was via %s)", r, s.advertised[r.Prefix])
		} else {
			report.Recordf(rep, report.Create, "route", "advertise %s", r)
		}
	}
	for _, r := range withdraw {
		report.Recordf(rep, report.Delete, "route", "withdraw %s", r)
	}
	if dry {
		return rep, nil
	}
	var errs []error
	// Withdraw first: a prefix never has two of our paths at the peers.
	for _, r := range withdraw {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := s.withdraw(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(s.advertised, r.Prefix)
	}
	for _, r := range add {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := s.announce(ctx, r); err != nil {
			errs = append(errs, err)
			continue
		}
		s.advertised[r.Prefix] = r.NextHop
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("bgp routes: %w", joinErrs(errs))
	}
	return rep, nil
}

func (s *Server) announce(ctx context.Context, r Route) error {
	p, err := apiPath(r, false)
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
	p, err := apiPath(r, true)
	if err == nil {
		err = s.bgp.DeletePath(ctx, &api.DeletePathRequest{TableType: api.TableType_GLOBAL, Path: p})
	}
	if err != nil {
		return fmt.Errorf("withdraw %s: %w", r, err)
	}
	return nil
}

// apiPath builds the gobgp path of r: ORIGIN IGP and the next hop, as
// NEXT_HOP for IPv4 and in MP_REACH_NLRI for IPv6 (RFC 4760).
func apiPath(r Route, withdraw bool) (*api.Path, error) {
	nlri, err := anypb.New(&api.IPAddressPrefix{PrefixLen: uint32(r.Prefix.Bits()), Prefix: r.Prefix.Addr().String()})
	if err != nil {
		return nil, err
	}
	origin, err := anypb.New(&api.OriginAttribute{Origin: 0})
	if err != nil {
		return nil, err
	}
	family := families[0]
	var nh *anypb.Any
	if r.Prefix.Addr().Is4() {
		nh, err = anypb.New(&api.NextHopAttribute{NextHop: r.NextHop.String()})
	} else {
		family = families[1]
		nh, err = anypb.New(&api.MpReachNLRIAttribute{Family: family, NextHops: []string{r.NextHop.String()}, Nlris: []*anypb.Any{nlri}})
	}
	if err != nil {
		return nil, err
	}
	return &api.Path{Family: family, Nlri: nlri, Pattrs: []*anypb.Any{origin, nh}, IsWithdraw: withdraw}, nil
}
