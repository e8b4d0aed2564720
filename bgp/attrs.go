package bgp

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	api "github.com/osrg/gobgp/v3/api"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/report"
)

// PathAttributes are put on every path the speaker advertises: the
// communities and local preference a speaker's operator sets (our
// extension of the speaker, see Speaker.Communities and Speaker.LocalPref).
type PathAttributes struct {
	// Communities are RFC 1997 communities ("64512:100", or a well-known
	// name: no-export, no-advertise, no-export-subconfed, blackhole,
	// graceful-shutdown) and RFC 8092 large communities ("64512:1:2").
	Communities []string
	// LocalPref is the LOCAL_PREF sent to iBGP peers (nil: gobgp's 100).
	// BGP never sends LOCAL_PREF to eBGP peers (RFC 4271 5.1.5).
	LocalPref *uint32
}

func (a PathAttributes) equal(o PathAttributes) bool {
	return slices.Equal(a.Communities, o.Communities) &&
		(a.LocalPref == nil) == (o.LocalPref == nil) && (a.LocalPref == nil || *a.LocalPref == *o.LocalPref)
}

func (a PathAttributes) String() string {
	lp := "default"
	if a.LocalPref != nil {
		lp = strconv.FormatUint(uint64(*a.LocalPref), 10)
	}
	return fmt.Sprintf("communities [%s] local-pref %s", strings.Join(a.Communities, " "), lp)
}

// wellKnownCommunities are the RFC 1997, 7999 and 8326 names.
var wellKnownCommunities = map[string]uint32{
	"no-export":           0xFFFFFF01,
	"no-advertise":        0xFFFFFF02,
	"no-export-subconfed": 0xFFFFFF03,
	"blackhole":           0xFFFF029A,
	"graceful-shutdown":   0xFFFF0000,
}

// parseCommunity reads one community: a well-known name, "asn:value" (two
// 16-bit numbers, RFC 1997) or "global:local1:local2" (three 32-bit
// numbers, a large community). Exactly one of std and large is set.
func parseCommunity(s string) (std *uint32, large *api.LargeCommunity, err error) {
	if v, ok := wellKnownCommunities[s]; ok {
		return &v, nil, nil
	}
	parts := strings.Split(s, ":")
	switch len(parts) {
	case 2:
		var n [2]uint64
		for i, p := range parts {
			if n[i], err = strconv.ParseUint(p, 10, 16); err != nil {
				return nil, nil, fmt.Errorf("%q: a community is two numbers 0-65535, as 64512:100, or a well-known name", s)
			}
		}
		v := uint32(n[0]<<16 | n[1])
		return &v, nil, nil
	case 3:
		var n [3]uint64
		for i, p := range parts {
			if n[i], err = strconv.ParseUint(p, 10, 32); err != nil {
				return nil, nil, fmt.Errorf("%q: a large community is three numbers 0-4294967295, as 64512:1:2", s)
			}
		}
		return nil, &api.LargeCommunity{GlobalAdmin: uint32(n[0]), LocalData1: uint32(n[1]), LocalData2: uint32(n[2])}, nil
	}
	return nil, nil, fmt.Errorf("%q is not a community (64512:100), a large community (64512:1:2) or a well-known name", s)
}

// validateCommunities checks each community, with paths field[i].
func validateCommunities(field string, cs []string) error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range cs {
		if _, _, err := parseCommunity(c); err != nil {
			errs = append(errs, errdefs.Invalid(errdefs.Index(field, i), "%v", err))
		} else if seen[c] {
			errs = append(errs, errdefs.Invalid(errdefs.Index(field, i), "%q is listed twice", c))
		}
		seen[c] = true
	}
	if len(errs) > 0 {
		return joinErrs(errs)
	}
	return nil
}

// encodedAttrs are PathAttributes as gobgp API attributes, encoded once
// for every path.
type encodedAttrs struct {
	attrs   PathAttributes
	encoded []*anypb.Any
}

func encodeAttrs(a PathAttributes) (encodedAttrs, error) {
	if err := validateCommunities("communities", a.Communities); err != nil {
		return encodedAttrs{}, err
	}
	out := encodedAttrs{attrs: PathAttributes{Communities: slices.Clone(a.Communities)}}
	var std []uint32
	var large []*api.LargeCommunity
	for _, c := range a.Communities {
		s, l, _ := parseCommunity(c)
		if s != nil {
			std = append(std, *s)
		} else {
			large = append(large, l)
		}
	}
	add := func(m proto.Message) error {
		x, err := anypb.New(m)
		if err == nil {
			out.encoded = append(out.encoded, x)
		}
		return err
	}
	if len(std) > 0 {
		if err := add(&api.CommunitiesAttribute{Communities: std}); err != nil {
			return out, err
		}
	}
	if len(large) > 0 {
		if err := add(&api.LargeCommunitiesAttribute{Communities: large}); err != nil {
			return out, err
		}
	}
	if a.LocalPref != nil {
		lp := *a.LocalPref
		out.attrs.LocalPref = &lp
		if err := add(&api.LocalPrefAttribute{LocalPref: lp}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// PathAttributes returns the attributes on the advertised paths.
func (s *Server) PathAttributes() PathAttributes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attrs.attrs
}

// SetPathAttributes puts a on every advertised path, from now on and on the
// routes already advertised, which are announced again (as one table dump
// when there are many). Setting the current attributes does nothing.
func (s *Server) SetPathAttributes(ctx context.Context, a PathAttributes) (*Report, error) {
	return s.setPathAttributes(ctx, a, false)
}

func (s *Server) setPathAttributes(ctx context.Context, a PathAttributes, dry bool) (*Report, error) {
	rep := &Report{}
	enc, err := encodeAttrs(a)
	if err != nil {
		return rep, fmt.Errorf("bgp path attributes: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attrs.attrs.equal(enc.attrs) {
		return rep, nil
	}
	report.Recordf(rep, report.Update, "speaker", "path attributes %s (were %s)", enc.attrs, s.attrs.attrs)
	if dry {
		return rep, nil
	}
	s.attrs = enc
	if !s.running || len(s.advertised) == 0 {
		return rep, nil
	}
	all := make([]Route, 0, len(s.advertised))
	for p, nh := range s.advertised {
		all = append(all, Route{Prefix: p, NextHop: nh})
	}
	SortRoutes(all)
	if errs := s.announceAll(ctx, all); len(errs) > 0 {
		return rep, fmt.Errorf("bgp path attributes: %w", joinErrs(errs))
	}
	return rep, nil
}
