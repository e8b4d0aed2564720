package loadbalancer

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// unsupported is a FieldError for a valid Octavia value Neutrino does not
// realize: refused before realization (ARCHITECTURE §9), wrapping
// errors.ErrUnsupported.
func unsupported(path, format string, args ...any) error {
	return &errdefs.FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Kind: errors.ErrUnsupported}
}

func requireID(id string) error {
	if id == "" {
		return errdefs.Invalid("id", "an id is required")
	}
	return nil
}

// Validate checks the load balancer's own fields. VIP references are
// checked by Desired.Validate.
func (lb *LoadBalancer) Validate() error {
	var errs []error
	errs = append(errs, requireID(lb.ID))
	if lb.VIPPortID == "" {
		// Octavia accepts a subnet or network alone and creates the port;
		// Neutrino realizes ports it is given, so the port must exist.
		errs = append(errs, errdefs.Invalid("vip_port_id", "a VIP port is required (Neutrino plugs the port it is given)"))
	}
	if lb.VIPAddress.IsValid() && !lb.VIPAddress.Is4() {
		errs = append(errs, unsupported("vip_address", "%s: only IPv4 VIPs are realized", lb.VIPAddress))
	}
	return errors.Join(errs...)
}

// Validate checks the listener's own fields.
func (l *Listener) Validate() error {
	var errs []error
	errs = append(errs, requireID(l.ID))
	if l.LoadBalancerID == "" {
		errs = append(errs, errdefs.Invalid("loadbalancer_id", "required"))
	}
	switch l.Protocol {
	case ProtocolTCP, ProtocolUDP, ProtocolHTTP:
	case "HTTPS", "TERMINATED_HTTPS", "SCTP", "PROMETHEUS":
		errs = append(errs, unsupported("protocol", "%s listeners are not realized", l.Protocol))
	default:
		errs = append(errs, errdefs.Invalid("protocol", "%q is not TCP, UDP, HTTP, HTTPS, TERMINATED_HTTPS, SCTP or PROMETHEUS", l.Protocol))
	}
	if l.ProtocolPort < 1 || l.ProtocolPort > 65535 {
		errs = append(errs, errdefs.Invalid("protocol_port", "%d is not in 1-65535", l.ProtocolPort))
	}
	if l.Limit() < -1 {
		errs = append(errs, errdefs.Invalid("connection_limit", "%d is below -1", l.Limit()))
	}
	if l.Protocol == ProtocolUDP && l.Limit() >= 0 {
		errs = append(errs, unsupported("connection_limit", "UDP listeners have no connection limit"))
	}
	const maxTimeout = 24 * 24 * 3600 * 1000
	for _, t := range []struct {
		name string
		v    int
	}{{"timeout_client_data", l.TimeoutClientData}, {"timeout_member_connect", l.TimeoutMemberConnect}, {"timeout_member_data", l.TimeoutMemberData}} {
		if t.v < 0 || t.v > maxTimeout {
			errs = append(errs, errdefs.Invalid(t.name, "%d is not in 0-%d ms", t.v, maxTimeout))
		}
	}
	for k, v := range l.InsertHeaders {
		switch k {
		case "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port":
			if v != "true" && v != "false" {
				errs = append(errs, errdefs.Invalid("insert_headers."+k, "%q is not true or false", v))
			}
		default:
			errs = append(errs, unsupported("insert_headers."+k, "header not inserted"))
		}
	}
	if len(l.InsertHeaders) > 0 && l.Protocol != ProtocolHTTP {
		errs = append(errs, errdefs.Invalid("insert_headers", "only HTTP listeners insert headers"))
	}
	return errors.Join(errs...)
}

// Validate checks the pool's own fields.
func (p *Pool) Validate() error {
	var errs []error
	errs = append(errs, requireID(p.ID))
	if p.LoadBalancerID == "" && p.ListenerID == "" {
		errs = append(errs, errdefs.Invalid("loadbalancer_id", "a pool needs loadbalancer_id or listener_id"))
	}
	switch p.Protocol {
	case ProtocolTCP, ProtocolUDP, ProtocolHTTP:
	case "HTTPS", "PROXY", "PROXYV2", "SCTP":
		errs = append(errs, unsupported("protocol", "%s pools are not realized", p.Protocol))
	default:
		errs = append(errs, errdefs.Invalid("protocol", "%q is not TCP, UDP, HTTP, HTTPS, PROXY, PROXYV2 or SCTP", p.Protocol))
	}
	switch p.LBAlgorithm {
	case RoundRobin, SourceIP:
	case LeastConnections:
		if p.Protocol == ProtocolUDP {
			errs = append(errs, unsupported("lb_algorithm", "LEAST_CONNECTIONS needs the proxy, which does not carry UDP"))
		}
	case "SOURCE_IP_PORT":
		errs = append(errs, unsupported("lb_algorithm", "SOURCE_IP_PORT is not realized"))
	default:
		errs = append(errs, errdefs.Invalid("lb_algorithm", "%q is not ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP or SOURCE_IP_PORT", p.LBAlgorithm))
	}
	if sp := p.SessionPersistence; sp != nil {
		switch sp.Type {
		case PersistSourceIP:
		case PersistHTTPCookie:
			if p.Protocol != ProtocolHTTP {
				errs = append(errs, errdefs.Invalid("session_persistence.type", "HTTP_COOKIE needs an HTTP pool"))
			}
		case "APP_COOKIE":
			errs = append(errs, unsupported("session_persistence.type", "APP_COOKIE is not realized"))
		default:
			errs = append(errs, errdefs.Invalid("session_persistence.type", "%q is not SOURCE_IP, HTTP_COOKIE or APP_COOKIE", sp.Type))
		}
		if strings.ContainsAny(sp.CookieName, " \t\r\n,;\\") || len(sp.CookieName) > 255 {
			errs = append(errs, errdefs.Invalid("session_persistence.cookie_name", "%q: at most 255 characters, none of whitespace , ; \\", sp.CookieName))
		}
		if sp.PersistenceTimeout < 0 {
			errs = append(errs, errdefs.Invalid("session_persistence.persistence_timeout", "%d is negative", sp.PersistenceTimeout))
		}
	}
	return errors.Join(errs...)
}

// Validate checks the member's own fields.
func (m *Member) Validate() error {
	var errs []error
	errs = append(errs, requireID(m.ID))
	if m.PoolID == "" {
		errs = append(errs, errdefs.Invalid("pool_id", "required"))
	}
	if !m.Address.IsValid() {
		errs = append(errs, errdefs.Invalid("address", "required"))
	} else if !m.Address.Is4() {
		errs = append(errs, unsupported("address", "%s: only IPv4 members are realized", m.Address))
	}
	if m.ProtocolPort < 1 || m.ProtocolPort > 65535 {
		errs = append(errs, errdefs.Invalid("protocol_port", "%d is not in 1-65535", m.ProtocolPort))
	}
	if w := m.EffectiveWeight(); w < 0 || w > 256 {
		errs = append(errs, errdefs.Invalid("weight", "%d is not in 0-256", w))
	}
	if m.MonitorPort < 0 || m.MonitorPort > 65535 {
		errs = append(errs, errdefs.Invalid("monitor_port", "%d is not in 1-65535", m.MonitorPort))
	}
	if m.MonitorAddress.IsValid() && !m.MonitorAddress.Is4() {
		errs = append(errs, unsupported("monitor_address", "%s: only IPv4 is realized", m.MonitorAddress))
	}
	return errors.Join(errs...)
}

var httpMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"TRACE": true, "OPTIONS": true, "CONNECT": true, "PATCH": true}

// Validate checks the monitor's own fields, with Octavia's rules: HTTP
// fields only on HTTP monitors.
func (h *HealthMonitor) Validate() error {
	var errs []error
	errs = append(errs, requireID(h.ID))
	if h.PoolID == "" {
		errs = append(errs, errdefs.Invalid("pool_id", "required"))
	}
	switch h.Type {
	case MonitorPing, MonitorTCP, MonitorHTTP:
	case "HTTPS", "TLS-HELLO", "UDP-CONNECT", "SCTP":
		errs = append(errs, unsupported("type", "%s monitors are not realized", h.Type))
	default:
		errs = append(errs, errdefs.Invalid("type", "%q is not HTTP, HTTPS, PING, TCP, TLS-HELLO, UDP-CONNECT or SCTP", h.Type))
	}
	if h.Delay < 1 {
		// Octavia allows 0; a zero delay would check in a tight loop.
		errs = append(errs, errdefs.Invalid("delay", "%d: at least 1 second", h.Delay))
	}
	if h.Timeout < 1 {
		errs = append(errs, errdefs.Invalid("timeout", "%d: at least 1 second", h.Timeout))
	}
	if h.MaxRetries < 1 || h.MaxRetries > 10 {
		errs = append(errs, errdefs.Invalid("max_retries", "%d is not in 1-10", h.MaxRetries))
	}
	if d := h.RetriesDown(); d < 1 || d > 10 {
		errs = append(errs, errdefs.Invalid("max_retries_down", "%d is not in 1-10", d))
	}
	if h.Type != MonitorHTTP {
		for _, f := range []struct{ name, v string }{{"http_method", h.HTTPMethod}, {"url_path", h.URLPath}, {"expected_codes", h.ExpectedCodes}} {
			if f.v != "" {
				errs = append(errs, errdefs.Invalid(f.name, "only HTTP monitors take it"))
			}
		}
		return errors.Join(errs...)
	}
	if h.HTTPMethod != "" && !httpMethods[h.HTTPMethod] {
		errs = append(errs, errdefs.Invalid("http_method", "%q is not an HTTP method Octavia accepts", h.HTTPMethod))
	}
	if h.URLPath != "" && !strings.HasPrefix(h.URLPath, "/") {
		errs = append(errs, errdefs.Invalid("url_path", "%q does not start with /", h.URLPath))
	}
	if _, err := ParseCodes(h.ExpectedCodes); err != nil {
		errs = append(errs, errdefs.Invalid("expected_codes", "%v", err))
	}
	return errors.Join(errs...)
}

// ParseCodes expands expected_codes ("200", "200,202", "200-204"; "" is
// 200) into the set of accepted status codes.
func ParseCodes(s string) (map[int]bool, error) {
	if s == "" {
		return map[int]bool{200: true}, nil
	}
	code := func(c string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 100 || n > 599 {
			return 0, fmt.Errorf("%q is not an HTTP status code", c)
		}
		return n, nil
	}
	out := map[int]bool{}
	if a, b, ok := strings.Cut(s, "-"); ok {
		lo, err := code(a)
		if err != nil {
			return nil, err
		}
		hi, err := code(b)
		if err != nil {
			return nil, err
		}
		if lo > hi {
			return nil, fmt.Errorf("range %q is empty", s)
		}
		for n := lo; n <= hi; n++ {
			out[n] = true
		}
		return out, nil
	}
	for _, c := range strings.Split(s, ",") {
		n, err := code(c)
		if err != nil {
			return nil, err
		}
		out[n] = true
	}
	return out, nil
}

// Validate checks the policy and its rules.
func (p *L7Policy) Validate() error {
	var errs []error
	errs = append(errs, requireID(p.ID))
	if p.ListenerID == "" {
		errs = append(errs, errdefs.Invalid("listener_id", "required"))
	}
	switch p.Action {
	case ActionReject:
	case ActionRedirectToPool:
		if p.RedirectPoolID == "" {
			errs = append(errs, errdefs.Invalid("redirect_pool_id", "REDIRECT_TO_POOL needs a pool"))
		}
	case ActionRedirectToURL:
		if p.RedirectURL == "" {
			errs = append(errs, errdefs.Invalid("redirect_url", "REDIRECT_TO_URL needs a URL"))
		}
	case ActionRedirectPrefix:
		if p.RedirectPrefix == "" {
			errs = append(errs, errdefs.Invalid("redirect_prefix", "REDIRECT_PREFIX needs a prefix"))
		}
	default:
		errs = append(errs, errdefs.Invalid("action", "%q is not REJECT, REDIRECT_TO_URL, REDIRECT_TO_POOL or REDIRECT_PREFIX", p.Action))
	}
	switch p.RedirectHTTPCode {
	case 0, 301, 302, 303, 307, 308:
	default:
		errs = append(errs, errdefs.Invalid("redirect_http_code", "%d is not 301, 302, 303, 307 or 308", p.RedirectHTTPCode))
	}
	if p.Position < 0 {
		errs = append(errs, errdefs.Invalid("position", "%d is not in 1-2147483647", p.Position))
	}
	if len(p.Rules) > 50 {
		errs = append(errs, errdefs.Invalid("rules", "%d rules: at most 50", len(p.Rules)))
	}
	for i := range p.Rules {
		errs = append(errs, errdefs.Prefix(errdefs.Index("rules", i), p.Rules[i].Validate()))
	}
	return errors.Join(errs...)
}

// Validate checks one rule, with Octavia's l7rule_data rules.
func (r *L7Rule) Validate() error {
	var errs []error
	switch r.Type {
	case RuleHostName, RulePath, RuleFileType, RuleHeader, RuleCookie:
	case "SSL_CONN_HAS_CERT", "SSL_VERIFY_RESULT", "SSL_DN_FIELD":
		errs = append(errs, unsupported("type", "%s needs TLS termination, which is not realized", r.Type))
	default:
		errs = append(errs, errdefs.Invalid("type", "%q is not an L7 rule type", r.Type))
	}
	switch r.CompareType {
	case CompareRegex, CompareEqualTo:
	case CompareStartsWith, CompareEndsWith, CompareContains:
		if r.Type == RuleFileType {
			errs = append(errs, errdefs.Invalid("compare_type", "FILE_TYPE allows only REGEX and EQUAL_TO"))
		}
	default:
		errs = append(errs, errdefs.Invalid("compare_type", "%q is not REGEX, STARTS_WITH, ENDS_WITH, CONTAINS or EQUAL_TO", r.CompareType))
	}
	if (r.Type == RuleHeader || r.Type == RuleCookie) && r.Key == "" {
		errs = append(errs, errdefs.Invalid("key", "%s rules need a key", r.Type))
	}
	if r.Value == "" {
		errs = append(errs, errdefs.Invalid("value", "required"))
	}
	for _, f := range []struct{ name, v string }{{"key", r.Key}, {"value", r.Value}} {
		if len(f.v) > 255 || strings.ContainsAny(f.v, "\r\n") {
			errs = append(errs, errdefs.Invalid(f.name, "at most 255 characters, no CR or LF"))
		}
	}
	if r.CompareType == CompareRegex {
		if _, err := regexp.Compile(r.Value); err != nil {
			errs = append(errs, errdefs.Invalid("value", "not a regular expression: %v", err))
		}
	}
	return errors.Join(errs...)
}
