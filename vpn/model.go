package vpn

import (
	"log/slog"
	"net/netip"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Lifetime is a policy's SA lifetime. Units is "seconds" (the only unit
// Neutron accepts); Value is at least 60. The zero value means Neutron's
// default, 3600 seconds.
type Lifetime struct {
	Units string `json:"units,omitempty"`
	Value int    `json:"value,omitempty"`
}

// DefaultLifetime is Neutron's database default for both policies.
const DefaultLifetime = 3600

// Seconds returns the lifetime with Neutron's default.
func (l *Lifetime) Seconds() int {
	if l == nil || l.Value == 0 {
		return DefaultLifetime
	}
	return l.Value
}

func (l *Lifetime) validate() error {
	if l == nil {
		return nil
	}
	var errs []error
	if l.Units != "" && l.Units != "seconds" {
		errs = append(errs, errdefs.Invalid("lifetime.units", "%q is not a lifetime unit (seconds)", l.Units))
	}
	if l.Value != 0 && l.Value < 60 {
		errs = append(errs, errdefs.Invalid("lifetime.value", "%d is below Neutron's minimum of 60 seconds", l.Value))
	}
	return joinErrs(errs)
}

// IKEPolicy is a Neutron ikepolicy: the proposal of the IKE (phase 1) SA.
// Empty fields take Neutron's defaults: sha1, aes-128, main, v1, group5.
type IKEPolicy struct {
	ID                    string    `json:"id"`
	Name                  string    `json:"name,omitempty"`
	ProjectID             string    `json:"project_id,omitempty"`
	AuthAlgorithm         string    `json:"auth_algorithm,omitempty"`
	EncryptionAlgorithm   string    `json:"encryption_algorithm,omitempty"`
	Phase1NegotiationMode string    `json:"phase1_negotiation_mode,omitempty"`
	IKEVersion            string    `json:"ike_version,omitempty"`
	PFS                   string    `json:"pfs,omitempty"`
	Lifetime              *Lifetime `json:"lifetime,omitempty"`
}

// IPsecPolicy is a Neutron ipsecpolicy: the proposal of the ESP (phase 2)
// SAs. Empty fields take Neutron's defaults: esp, sha1, aes-128, tunnel,
// group5.
type IPsecPolicy struct {
	ID                  string    `json:"id"`
	Name                string    `json:"name,omitempty"`
	ProjectID           string    `json:"project_id,omitempty"`
	TransformProtocol   string    `json:"transform_protocol,omitempty"`
	AuthAlgorithm       string    `json:"auth_algorithm,omitempty"`
	EncryptionAlgorithm string    `json:"encryption_algorithm,omitempty"`
	EncapsulationMode   string    `json:"encapsulation_mode,omitempty"`
	PFS                 string    `json:"pfs,omitempty"`
	Lifetime            *Lifetime `json:"lifetime,omitempty"`
}

// Service is a Neutron vpnservice: IPsec on a router. With SubnetID set
// (Neutron's legacy mode) its connections name peer_cidrs; without, they
// name endpoint groups.
type Service struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
	RouterID  string `json:"router_id"`
	SubnetID  string `json:"subnet_id,omitempty"`
	// AdminStateUp defaults to true when nil.
	AdminStateUp *bool `json:"admin_state_up,omitempty"`
	// Read-only in Neutron; read so documents copied from the API load.
	Status       string     `json:"status,omitempty"`
	ExternalV4IP netip.Addr `json:"external_v4_ip,omitzero"`
	ExternalV6IP netip.Addr `json:"external_v6_ip,omitzero"`
}

// Up reports admin_state_up with Neutron's default (true).
func (s *Service) Up() bool { return s.AdminStateUp == nil || *s.AdminStateUp }

// Endpoint group types.
const (
	EndpointSubnet = "subnet"
	EndpointCIDR   = "cidr"
)

// EndpointGroup is a Neutron endpoint_group: local subnets (type subnet,
// endpoints are subnet IDs) or peer CIDRs (type cidr).
type EndpointGroup struct {
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	ProjectID string   `json:"project_id,omitempty"`
	Type      string   `json:"type"`
	Endpoints []string `json:"endpoints"`
}

// DPD is dead peer detection of a connection. Zero fields take Neutron's
// defaults: hold, 30 and 120 seconds.
type DPD struct {
	Action   string `json:"action,omitempty"`
	Interval int    `json:"interval,omitempty"`
	Timeout  int    `json:"timeout,omitempty"`
}

// withDefaults returns d with Neutron's defaults filled in.
func (d *DPD) withDefaults() DPD {
	out := DPD{Action: "hold", Interval: 30, Timeout: 120}
	if d == nil {
		return out
	}
	if d.Action != "" {
		out.Action = d.Action
	}
	if d.Interval != 0 {
		out.Interval = d.Interval
	}
	if d.Timeout != 0 {
		out.Timeout = d.Timeout
	}
	return out
}

// Initiator values.
const (
	BiDirectional = "bi-directional"
	ResponseOnly  = "response-only"
)

// Secret is a pre-shared key. It prints, logs and formats as "[redacted]"
// so that no log line or error carries it; JSON carries it as is, because
// the document is where it comes from.
type Secret string

func (Secret) String() string { return "[redacted]" }

// GoString keeps %#v from printing the key.
func (Secret) GoString() string { return `"[redacted]"` }

// LogValue keeps slog from printing the key.
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// SiteConnection is a Neutron ipsec_site_connection: one IPsec tunnel from
// the service's router to a peer gateway.
type SiteConnection struct {
	ID            string `json:"id"`
	Name          string `json:"name,omitempty"`
	ProjectID     string `json:"project_id,omitempty"`
	VPNServiceID  string `json:"vpnservice_id"`
	IKEPolicyID   string `json:"ikepolicy_id"`
	IPsecPolicyID string `json:"ipsecpolicy_id"`
	// PeerAddress is the peer gateway's IP address or FQDN.
	PeerAddress string `json:"peer_address"`
	// PeerID is the peer's IKE identity (an IP address, FQDN or
	// user@FQDN); LocalID ours, the router's external IP when empty.
	PeerID  string `json:"peer_id"`
	LocalID string `json:"local_id,omitempty"`
	// PeerCIDRs (with a service that names its subnet) or the two
	// endpoint groups (with a service that does not) select the traffic.
	PeerCIDRs      []netip.Prefix `json:"peer_cidrs,omitempty"`
	LocalEPGroupID string         `json:"local_ep_group_id,omitempty"`
	PeerEPGroupID  string         `json:"peer_ep_group_id,omitempty"`
	PSK            Secret         `json:"psk"`
	// MTU defaults to 1500 (Neutron's default).
	MTU int  `json:"mtu,omitempty"`
	DPD *DPD `json:"dpd,omitempty"`
	// Initiator is bi-directional (the default: the router initiates) or
	// response-only (it waits for the peer).
	Initiator string `json:"initiator,omitempty"`
	// AdminStateUp defaults to true when nil; a connection that is down
	// is not loaded.
	AdminStateUp *bool `json:"admin_state_up,omitempty"`
	// Read-only in Neutron: psk and static are the only values.
	AuthMode  string `json:"auth_mode,omitempty"`
	RouteMode string `json:"route_mode,omitempty"`
	Status    string `json:"status,omitempty"`
}

// Up reports admin_state_up with Neutron's default (true).
func (c *SiteConnection) Up() bool { return c.AdminStateUp == nil || *c.AdminStateUp }

// initiator returns the initiator with Neutron's default.
func (c *SiteConnection) initiator() string {
	if c.Initiator == "" {
		return BiDirectional
	}
	return c.Initiator
}

// DefaultMTU is Neutron's default connection MTU.
const DefaultMTU = 1500

// validHost reports whether s is an FQDN Neutron's peer_address accepts:
// dot-separated labels of letters, digits and hyphens.
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
