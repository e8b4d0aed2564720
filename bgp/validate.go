package bgp

import (
	"errors"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/subnet"
)

// Validate checks the speaker on its own, with paths relative to it, by
// neutron-dynamic-routing's rules: the ID, local_as 1..4294967295 (the
// bgp_4byte_asn range), ip_version 4 or 6 (one family per speaker), networks
// and peers as non-empty IDs without duplicates, and router_id, our
// extension, an IPv4 address (a BGP identifier is 32 bits, RFC 6286). That
// the networks and peers exist, and that no two peers share an address, are
// the document's to check (neutrino.Topology.Validate). Communities, our
// extension, must each parse (see PathAttributes) and not repeat.
func (s *Speaker) Validate() error {
	var errs []error
	if s.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if s.LocalAS == 0 {
		errs = append(errs, errdefs.Invalid("local_as", "required: an AS number 1..4294967295"))
	}
	if s.IPVersion != 4 && s.IPVersion != 6 {
		errs = append(errs, errdefs.Invalid("ip_version", "%d is not 4 or 6", s.IPVersion))
	}
	errs = append(errs, subnet.ValidateIDs("networks", s.Networks), subnet.ValidateIDs("peers", s.Peers),
		validateCommunities("communities", s.Communities))
	if s.RouterID.IsValid() {
		if err := subnet.ValidateAddr("router_id", s.RouterID); err != nil {
			errs = append(errs, err)
		} else if !s.RouterID.Is4() {
			errs = append(errs, errdefs.Invalid("router_id", "%s: a BGP identifier is an IPv4 address", s.RouterID))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the peer on its own, with paths relative to it: the ID,
// peer_ip, remote_as 1..4294967295, auth_type none (or empty, read as none)
// or md5, no password with none, and our timer extension:
// hold_time 0 (BGP's default 90) or 3..65535 (RFC 4271), keepalive_interval
// below the hold time. An md5 peer needs no password in the document:
// Neutron's API never shows it, and the server takes it from configuration
// (WithPeerPasswords); that one exists somewhere is checked when the peer
// is applied.
func (p *Peer) Validate() error {
	var errs []error
	if p.ID == "" {
		errs = append(errs, errdefs.Invalid("id", "required"))
	}
	if err := subnet.ValidateAddr("peer_ip", p.PeerIP); err != nil {
		errs = append(errs, err)
	} else if p.PeerIP.IsUnspecified() || p.PeerIP.IsMulticast() {
		errs = append(errs, errdefs.Invalid("peer_ip", "%s is not a peer address", p.PeerIP))
	}
	if p.RemoteAS == 0 {
		errs = append(errs, errdefs.Invalid("remote_as", "required: an AS number 1..4294967295"))
	}
	switch p.AuthType {
	case "", AuthNone:
		if p.Password != "" {
			errs = append(errs, errdefs.Invalid("password", "given, but auth_type is none"))
		}
	case AuthMD5:
	default:
		errs = append(errs, errdefs.Invalid("auth_type", "%q is not none or md5", p.AuthType))
	}
	if p.HoldTime != 0 && (p.HoldTime < 3 || p.HoldTime > 65535) {
		errs = append(errs, errdefs.Invalid("hold_time", "%d is not 0 (default) or 3..65535 seconds", p.HoldTime))
	}
	if hold := p.effectiveHoldTime(); p.KeepaliveInterval != 0 && p.KeepaliveInterval >= hold {
		errs = append(errs, errdefs.Invalid("keepalive_interval", "%d is not below the hold time %d", p.KeepaliveInterval, hold))
	}
	return errors.Join(errs...)
}

func (p *Peer) effectiveHoldTime() uint32 {
	if p.HoldTime == 0 {
		return DefaultHoldTime
	}
	return p.HoldTime
}
