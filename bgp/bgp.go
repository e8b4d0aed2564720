package bgp

import "net/netip"

// Speaker is a Neutron BGP speaker (neutron-dynamic-routing): it advertises
// tenant prefixes and floating IPs reachable through the given external
// networks to its peers.
type Speaker struct {
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	ProjectID string   `json:"project_id,omitempty"`
	LocalAS   ASN      `json:"local_as"`
	IPVersion int      `json:"ip_version"`
	Networks  []string `json:"networks,omitempty"`
	Peers     []string `json:"peers,omitempty"`
	// Both default to true when nil, as in Neutron.
	AdvertiseFloatingIPHostRoutes *bool `json:"advertise_floating_ip_host_routes,omitempty"`
	AdvertiseTenantNetworks       *bool `json:"advertise_tenant_networks,omitempty"`
	// RouterID is our extension: the BGP identifier; defaults to the host's
	// tunnel IP or the first peer-facing IPv4 address.
	RouterID netip.Addr `json:"router_id,omitzero"`
	// Communities and LocalPref are our extension, put on every advertised
	// path: RFC 1997 communities ("64512:100" or a well-known name such as
	// "no-export") and RFC 8092 large communities ("64512:1:2"); the
	// LOCAL_PREF sent to iBGP peers (default 100; eBGP peers never get one).
	// neutron-dynamic-routing has neither: operators set them on the
	// upstream router, per neighbor; here they travel with the speaker.
	Communities []string `json:"communities,omitempty"`
	LocalPref   *uint32  `json:"local_pref,omitempty"`
}

// PathAttributes returns the attributes the speaker puts on its paths.
func (s *Speaker) PathAttributes() PathAttributes {
	return PathAttributes{Communities: s.Communities, LocalPref: s.LocalPref}
}

// AdvertiseFIPs reports advertise_floating_ip_host_routes (default true).
func (s *Speaker) AdvertiseFIPs() bool {
	return s.AdvertiseFloatingIPHostRoutes == nil || *s.AdvertiseFloatingIPHostRoutes
}

// AdvertiseTenants reports advertise_tenant_networks (default true).
func (s *Speaker) AdvertiseTenants() bool {
	return s.AdvertiseTenantNetworks == nil || *s.AdvertiseTenantNetworks
}

// Auth types of a BGP peer.
const (
	AuthNone = "none"
	AuthMD5  = "md5"
)

// Peer is a Neutron BGP peer.
type Peer struct {
	ID       string     `json:"id"`
	Name     string     `json:"name,omitempty"`
	PeerIP   netip.Addr `json:"peer_ip"`
	RemoteAS ASN        `json:"remote_as"`
	AuthType string     `json:"auth_type,omitempty"`
	// Password is the MD5 password of auth_type md5. Neutron's API never
	// shows it, so it usually comes from configuration outside the
	// document (WithPeerPasswords); when the document has one, it is used.
	Password string `json:"password,omitempty"`
	// HoldTime and KeepaliveInterval (seconds) are our extension; 0 means the
	// BGP defaults (90 and 30).
	HoldTime          uint32 `json:"hold_time,omitempty"`
	KeepaliveInterval uint32 `json:"keepalive_interval,omitempty"`
}
