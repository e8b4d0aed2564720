package loadbalancer

import "net/netip"

// Listener protocols realized (Octavia's names).
const (
	ProtocolTCP  = "TCP"
	ProtocolUDP  = "UDP"
	ProtocolHTTP = "HTTP"
)

// Pool algorithms.
const (
	RoundRobin       = "ROUND_ROBIN"
	LeastConnections = "LEAST_CONNECTIONS"
	SourceIP         = "SOURCE_IP"
)

// Session persistence types.
const (
	PersistSourceIP   = "SOURCE_IP"
	PersistHTTPCookie = "HTTP_COOKIE"
)

// Health monitor types.
const (
	MonitorPing = "PING"
	MonitorTCP  = "TCP"
	MonitorHTTP = "HTTP"
)

// L7 policy actions.
const (
	ActionReject         = "REJECT"
	ActionRedirectToPool = "REDIRECT_TO_POOL"
	ActionRedirectToURL  = "REDIRECT_TO_URL"
	ActionRedirectPrefix = "REDIRECT_PREFIX"
)

// L7 rule types and comparisons.
const (
	RuleHostName = "HOST_NAME"
	RulePath     = "PATH"
	RuleFileType = "FILE_TYPE"
	RuleHeader   = "HEADER"
	RuleCookie   = "COOKIE"

	CompareRegex      = "REGEX"
	CompareStartsWith = "STARTS_WITH"
	CompareEndsWith   = "ENDS_WITH"
	CompareContains   = "CONTAINS"
	CompareEqualTo    = "EQUAL_TO"
)

// LoadBalancer is an Octavia load balancer: a VIP on a tenant subnet. Its
// VIP port (vip_port_id, device_owner "Octavia") carries the MAC and the
// binding:host_id that schedules it, Neutron's way.
type LoadBalancer struct {
	ID           string     `json:"id"`
	Name         string     `json:"name,omitempty"`
	ProjectID    string     `json:"project_id,omitempty"`
	VIPAddress   netip.Addr `json:"vip_address,omitzero"`
	VIPPortID    string     `json:"vip_port_id"`
	VIPSubnetID  string     `json:"vip_subnet_id,omitempty"`
	VIPNetworkID string     `json:"vip_network_id,omitempty"`
	AdminStateUp *bool      `json:"admin_state_up,omitempty"`
	Provider     string     `json:"provider,omitempty"`
}

// Listener is a protocol and port on a load balancer's VIP.
type Listener struct {
	ID             string `json:"id"`
	Name           string `json:"name,omitempty"`
	LoadBalancerID string `json:"loadbalancer_id"`
	Protocol       string `json:"protocol"`
	ProtocolPort   int    `json:"protocol_port"`
	// ConnectionLimit is -1 (unlimited) when nil.
	ConnectionLimit *int   `json:"connection_limit,omitempty"`
	DefaultPoolID   string `json:"default_pool_id,omitempty"`
	AdminStateUp    *bool  `json:"admin_state_up,omitempty"`
	// InsertHeaders: X-Forwarded-For, X-Forwarded-Proto and
	// X-Forwarded-Port ("true"/"false") are honoured. HTTP listeners insert
	// the first two unless told "false" (our default, as Neutron's haproxy
	// driver always set option forwardfor; Octavia inserts none unless
	// asked), X-Forwarded-Port only when asked.
	InsertHeaders map[string]string `json:"insert_headers,omitempty"`
	// Timeouts in milliseconds (Octavia's defaults when 0).
	TimeoutClientData    int `json:"timeout_client_data,omitempty"`
	TimeoutMemberConnect int `json:"timeout_member_connect,omitempty"`
	TimeoutMemberData    int `json:"timeout_member_data,omitempty"`
}

// Pool is a set of members behind a listener.
type Pool struct {
	ID                 string       `json:"id"`
	Name               string       `json:"name,omitempty"`
	LoadBalancerID     string       `json:"loadbalancer_id,omitempty"`
	ListenerID         string       `json:"listener_id,omitempty"`
	Protocol           string       `json:"protocol"`
	LBAlgorithm        string       `json:"lb_algorithm"`
	SessionPersistence *Persistence `json:"session_persistence,omitempty"`
	AdminStateUp       *bool        `json:"admin_state_up,omitempty"`
}

// Persistence is a pool's session_persistence.
type Persistence struct {
	Type               string `json:"type"`
	CookieName         string `json:"cookie_name,omitempty"`
	PersistenceTimeout int    `json:"persistence_timeout,omitempty"`
}

// Member is a backend of a pool. Octavia nests members under their pool in
// its URLs; in the document they are a collection of their own, and
// pool_id (our extension of the member object) says whose they are.
type Member struct {
	ID           string     `json:"id"`
	Name         string     `json:"name,omitempty"`
	PoolID       string     `json:"pool_id"`
	Address      netip.Addr `json:"address"`
	ProtocolPort int        `json:"protocol_port"`
	// Weight is 1 when nil; 0 takes the member out of rotation (draining).
	Weight         *int       `json:"weight,omitempty"`
	AdminStateUp   *bool      `json:"admin_state_up,omitempty"`
	Backup         bool       `json:"backup,omitempty"`
	SubnetID       string     `json:"subnet_id,omitempty"`
	MonitorAddress netip.Addr `json:"monitor_address,omitzero"`
	MonitorPort    int        `json:"monitor_port,omitempty"`
}

// HealthMonitor checks the members of one pool.
type HealthMonitor struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	PoolID string `json:"pool_id"`
	Type   string `json:"type"`
	// Delay and Timeout are in seconds, as in Octavia.
	Delay      int `json:"delay"`
	Timeout    int `json:"timeout"`
	MaxRetries int `json:"max_retries"`
	// MaxRetriesDown is 3 when 0 (Octavia's default).
	MaxRetriesDown int    `json:"max_retries_down,omitempty"`
	HTTPMethod     string `json:"http_method,omitempty"`
	URLPath        string `json:"url_path,omitempty"`
	ExpectedCodes  string `json:"expected_codes,omitempty"`
	AdminStateUp   *bool  `json:"admin_state_up,omitempty"`
}

// L7Policy routes an HTTP listener's requests that match all its rules.
type L7Policy struct {
	ID               string   `json:"id"`
	Name             string   `json:"name,omitempty"`
	ListenerID       string   `json:"listener_id"`
	Action           string   `json:"action"`
	RedirectPoolID   string   `json:"redirect_pool_id,omitempty"`
	RedirectURL      string   `json:"redirect_url,omitempty"`
	RedirectPrefix   string   `json:"redirect_prefix,omitempty"`
	RedirectHTTPCode int      `json:"redirect_http_code,omitempty"`
	Position         int      `json:"position,omitempty"`
	AdminStateUp     *bool    `json:"admin_state_up,omitempty"`
	Rules            []L7Rule `json:"rules,omitempty"`
}

// L7Rule is one condition of a policy.
type L7Rule struct {
	ID           string `json:"id,omitempty"`
	Type         string `json:"type"`
	CompareType  string `json:"compare_type"`
	Key          string `json:"key,omitempty"`
	Value        string `json:"value"`
	Invert       bool   `json:"invert,omitempty"`
	AdminStateUp *bool  `json:"admin_state_up,omitempty"`
}

func up(b *bool) bool { return b == nil || *b }

// Up reports admin_state_up (default true).
func (lb *LoadBalancer) Up() bool { return up(lb.AdminStateUp) }

// Up reports admin_state_up (default true).
func (l *Listener) Up() bool { return up(l.AdminStateUp) }

// Limit is connection_limit, -1 for none.
func (l *Listener) Limit() int {
	if l.ConnectionLimit == nil {
		return -1
	}
	return *l.ConnectionLimit
}

// Up reports admin_state_up (default true).
func (p *Pool) Up() bool { return up(p.AdminStateUp) }

// Up reports admin_state_up (default true).
func (m *Member) Up() bool { return up(m.AdminStateUp) }

// EffectiveWeight is weight with Octavia's default 1.
func (m *Member) EffectiveWeight() int {
	if m.Weight == nil {
		return 1
	}
	return *m.Weight
}

// Up reports admin_state_up (default true).
func (h *HealthMonitor) Up() bool { return up(h.AdminStateUp) }

// RetriesDown is max_retries_down with Octavia's default 3.
func (h *HealthMonitor) RetriesDown() int {
	if h.MaxRetriesDown == 0 {
		return 3
	}
	return h.MaxRetriesDown
}

// Up reports admin_state_up (default true).
func (p *L7Policy) Up() bool { return up(p.AdminStateUp) }

// Up reports admin_state_up (default true).
func (r *L7Rule) Up() bool { return up(r.AdminStateUp) }
