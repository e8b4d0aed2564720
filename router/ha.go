package router

import (
	"fmt"
	"net/netip"
	"time"
)

// Neutron's HA defaults (l3_hamode_db, keepalived.py): advert_int 2,
// priority 50 for every member, nopreempt, VRIDs 1..254 per HA network, and
// the HA network's CIDR.
const (
	DefaultHAInterval = 2 * time.Second
	DefaultHAPriority = 50
	MaxVRID           = 254
)

// HANetCIDR is Neutron's l3_ha_net_cidr: the HA ports' addresses.
var HANetCIDR = netip.MustParsePrefix("169.254.192.0/18")

// HAPrimaryVIP is the address a member advertises and holds on its ha-
// device as master: Neutron's "primary VIP" 169.254.0.<vrid>/24, which
// keepalived peers compare and neutron-keepalived-state-change watches.
func HAPrimaryVIP(vrid uint8) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{169, 254, 0, vrid}), 24)
}

// HAVIP is one address only the master holds: keepalived's
// virtual_ipaddress_excluded (qr- and qg- fixed IPs, floating IPs as /32).
type HAVIP struct {
	Dev    string
	Prefix netip.Prefix
}

// HARoute is one route only the master holds: keepalived's virtual_routes
// (the default route via the external gateway, extra routes).
type HARoute struct {
	Dst netip.Prefix
	// Via is one next hop, or several for an ECMP route; none for a
	// connected (scope link) route.
	Via []netip.Addr
	Dev string
}

// HAConfig is one member of an HA router on one node: its VRRP settings
// and what it holds as master.
//
// # HA routers
//
// Scheduling follows Neutron: an HA router ("ha": true) runs on the hosts
// of its network:router_ha_interface ports (binding:host_id), all on one
// per-project HA network with addresses in 169.254.192.0/18; its VRID is
// the router's ha_vrid (a Neutrino extension: Neutron allocates it
// server-side), 1..254 and unique per HA network (ValidateHA).
//
// Every member has the router namespace with the same qr-/qg- devices,
// MACs and NAT rules; only the master holds the addresses (fixed IPs,
// floating IPs as /32) and routes (haHeld: keepalived's
// virtual_ipaddress_excluded and virtual_routes), plus Neutron's primary
// VIP 169.254.0.<vrid>/24 on ha-. HAMember runs VRRPv3 (internal/vrrp) on
// the ha- device and moves them itself on every transition, sending
// gratuitous ARP / unsolicited NA on takeover: the agent is not in the
// path. Its routes carry keepalived's rtm_protocol, which the realizer
// leaves alone. Defaults are Neutron's (2 s, priority 50, nopreempt); the
// interval goes down to 10 ms. keepalived interoperates on the wire (the
// interop test in internal/vrrp).
//
// Measured (privileged tests and benchmarks in this package, 2 simulated
// nodes on bridges, cut = all of the master node's links deleted):
// cut → first packet through the new master, median of 20, 323 ms
// (187–339) at 0.1 s adverts (3.2 × the interval) and 7.55 s (7.49–7.61)
// at 2 s (3.8 ×: with priority 50 the RFC's skew adds 0.8 intervals to the
// 3 of the master-down timer; a priority of 129 or more keeps it ≤ 3.5 ×).
// Established TCP flows without conntrack replication: floating IP flows
// survive (1:1 rules, identical on every member; nf_conntrack_tcp_loose
// picks them up mid-stream on the new master); SNAT flows are reset
// whenever the upstream's next segment reaches the new master first
// (addressed to the gateway IP with no conntrack entry, the router's own
// stack answers RST) — seen in most runs, not all: when the instance's
// segment comes first, a port-keeping SNAT picks the flow up. With
// such stray segments dropped in an input chain ("iifname qg-… ct state
// new tcp flags & (syn|rst) == 0 drop") and SNAT without fully-random, the
// instance's next segment re-creates the translation on its old port and
// SNAT flows survive too; with fully-random (Neutron's default) they do not.
//
// A member can run in a helper process of the same binary
// (SpawnHAHelper, RunHAHelperFromEnv) in a session of its own, found again
// by an agent that restarts (AdoptHAHelper) and reporting its ha_state in
// a state file: SIGKILL of the agent causes no failover (tested).
//
// Not done yet: the realizer and the agent do not start members or
// helpers, so Validate still refuses "ha": true and HA ports; conntrack
// state is not replicated.
type HAConfig struct {
	RouterID string
	VRID     uint8
	// Priority defaults to Neutron's 50 when 0; Interval to 2 s.
	Priority uint8
	Interval time.Duration
	Preempt  bool
	// HADev is the member's ha- device and HAAddr its HA port's address.
	HADev  string
	HAAddr netip.Addr
	VIPs   []HAVIP
	Routes []HARoute
	// OnChange, if set, is called with the new ha_state after every
	// transition's addresses and routes have moved.
	OnChange func(HAState) `json:"-"`
}

func (c *HAConfig) defaults() {
	if c.Priority == 0 {
		c.Priority = DefaultHAPriority
	}
	if c.Interval == 0 {
		c.Interval = DefaultHAInterval
	}
}

func (c *HAConfig) validate() error {
	if c.VRID == 0 || c.VRID > MaxVRID {
		return fmt.Errorf("router %s: ha vrid %d: must be 1..%d", c.RouterID, c.VRID, MaxVRID)
	}
	if !HANetCIDR.Contains(c.HAAddr) {
		return fmt.Errorf("router %s: ha address %s: must be in the HA network %s", c.RouterID, c.HAAddr, HANetCIDR)
	}
	if c.HADev == "" {
		return fmt.Errorf("router %s: ha device: required", c.RouterID)
	}
	for i, v := range c.VIPs {
		if v.Dev == "" || !v.Prefix.IsValid() {
			return fmt.Errorf("router %s: ha vips[%d]: device and prefix required", c.RouterID, i)
		}
	}
	for i, r := range c.Routes {
		if !r.Dst.IsValid() || (len(r.Via) == 0 && r.Dev == "") {
			return fmt.Errorf("router %s: ha routes[%d]: destination and a next hop or device required", c.RouterID, i)
		}
	}
	return nil
}

// HAState is a member's ha_state as Neutron reports it.
type HAState string

const (
	HAActive  HAState = "active"
	HAStandby HAState = "standby"
	// HAUnknown: not running (Neutron's "unknown").
	HAUnknown HAState = "unknown"
)
