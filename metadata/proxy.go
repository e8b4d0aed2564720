package metadata

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Headers of the metadata path.
const (
	HeaderForwardedFor = "X-Forwarded-For"
	HeaderRouterID     = "X-Neutron-Router-ID"
	HeaderNetworkID    = "X-Neutron-Network-ID"
	HeaderInstanceID   = "X-Instance-ID"
	HeaderTenantID     = "X-Tenant-ID"
	HeaderSignature    = "X-Instance-ID-Signature"
)

// strip are the headers a guest must not set: the proxy sets them.
var strip = []string{HeaderForwardedFor, HeaderRouterID, HeaderNetworkID, HeaderInstanceID, HeaderTenantID, HeaderSignature,
	"Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto"}

// proxy is the shared request path of every listener.
type proxy struct {
	cfg   Config
	nova  *url.URL
	log   *slog.Logger
	ix    atomic.Pointer[index]
	up    *upstream
	bufs  bufferPool
	limit *limiter
	sem   chan struct{}
	stats stats
}

type ctxKey struct{}

// scopeOf is the scope ConnContext attached to a request's connection.
func scopeOf(ctx context.Context) (Scope, bool) {
	s, ok := ctx.Value(ctxKey{}).(Scope)
	return s, ok
}

// canonical forms of the headers the proxy deletes: deleting by the
// canonical key skips canonicalizing it on every request.
var stripKeys = func() []string {
	out := make([]string, len(strip))
	for i, k := range strip {
		out[i] = http.CanonicalHeaderKey(k)
	}
	return out
}()

func newProxy(cfg Config, nova *url.URL, log *slog.Logger) *proxy {
	return &proxy{cfg: cfg, nova: nova, log: log, limit: newLimiter(cfg.RatePerSource), sem: make(chan struct{}, cfg.MaxConcurrent),
		up: newUpstream(nova, cfg.TLS, cfg.Timeout, cfg.MaxConcurrent)}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scope, ok := scopeOf(r.Context())
	if !ok {
		p.stats.result(resultNotFound)
		http.NotFound(w, r)
		return
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		p.stats.result(resultNotFound)
		http.NotFound(w, r)
		return
	}
	src := ap.Addr().Unmap().WithZone("")
	inst, ok := p.ix.Load().lookup(scope, ap.Addr())
	if !ok {
		p.stats.result(resultNotFound)
		p.log.Debug("metadata: unknown source", "scope", scope.String(), "source", src)
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1>The resource could not be found.<br /><br />No instance with address %s found on %s.</body></html>\n", src, scope)
		return
	}
	// Limited after resolution: buckets exist only for known ports, so
	// spoofed sources cannot grow the table.
	if !p.limit.allow(scope, src) {
		p.stats.result(resultRateLimited)
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	default:
		p.stats.result(resultRateLimited)
		http.Error(w, "Too Many Requests", http.StatusTooManyRequests)
		return
	}
	start := time.Now()
	p.forward(w, r, scope, src, inst)
	p.stats.upstream(time.Since(start))
}

// forward sends r to Nova with the headers of the metadata agent, the
// guest's own versions of them removed, and copies the answer back.
func (p *proxy) forward(w http.ResponseWriter, r *http.Request, scope Scope, src netip.Addr, inst Instance) {
	// The server's request is the handler's to change: its header map
	// becomes the upstream request's.
	h := r.Header
	removeHopByHop(h)
	for _, k := range stripKeys {
		delete(h, k)
	}
	h[HeaderForwardedFor] = []string{src.String()}
	if scope.Router {
		h[headerRouterID] = []string{scope.ID}
	} else {
		h[headerNetworkID] = []string{scope.ID}
	}
	h[headerInstanceID] = []string{inst.ID}
	h[headerTenantID] = []string{inst.Project}
	h[headerSignature] = []string{inst.signature}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{""} // not Go's default
	}
	u := *p.nova
	u.Path, u.RawPath = joinPath(p.nova, r.URL)
	switch {
	case p.nova.RawQuery == "":
		u.RawQuery = r.URL.RawQuery
	case r.URL.RawQuery != "":
		u.RawQuery = p.nova.RawQuery + "&" + r.URL.RawQuery
	}
	body := r.Body
	if r.ContentLength == 0 {
		body = http.NoBody
	}
	out := &http.Request{Method: r.Method, URL: &u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: body, ContentLength: r.ContentLength, Host: p.nova.Host}
	// The connection's deadline bounds the exchange by cfg.Timeout.
	resp, c, err := p.up.roundTrip(r.Context(), out)
	if err != nil {
		p.stats.result(resultUpstreamError)
		p.log.Warn("metadata: Nova unreachable", "url", p.nova.Redacted(), "err", err)
		http.Error(w, "Remote metadata server experienced an internal server error.", http.StatusServiceUnavailable)
		return
	}
	p.stats.status(resp.StatusCode)
	if resp.StatusCode == http.StatusForbidden {
		// Nova's answer to a signature it cannot verify: most often a
		// shared secret that differs from Nova's.
		p.log.Warn("metadata: Nova refused the request (403): is the shared secret Nova's?", "scope", scope.String(), "instance", inst.ID)
	}
	removeHopByHop(resp.Header)
	wh := w.Header()
	for k, v := range resp.Header {
		wh[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	buf := p.bufs.Get()
	clean := copyBody(w, resp.Body, buf)
	p.bufs.Put(buf)
	p.up.done(c, resp, clean)
}

// Canonical keys of the headers the proxy sets (X-Neutron-Router-ID is
// X-Neutron-Router-Id on the wire map; HTTP header names are
// case-insensitive).
var (
	headerRouterID   = http.CanonicalHeaderKey(HeaderRouterID)
	headerNetworkID  = http.CanonicalHeaderKey(HeaderNetworkID)
	headerInstanceID = http.CanonicalHeaderKey(HeaderInstanceID)
	headerTenantID   = http.CanonicalHeaderKey(HeaderTenantID)
	headerSignature  = http.CanonicalHeaderKey(HeaderSignature)
)

// limiter is a token bucket per (scope, source), rate tokens a second
// with a burst of rate (at least 1). Buckets idle for a minute are dropped.
type limiter struct {
	rate    float64
	mu      sync.Mutex
	buckets map[scopedIP]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64) *limiter {
	return &limiter{rate: rate, buckets: map[scopedIP]*bucket{}}
}

func (l *limiter) allow(s Scope, src netip.Addr) bool {
	if l.rate < 0 {
		return true
	}
	now := time.Now()
	burst := max(l.rate, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	k := scopedIP{s, src}
	b := l.buckets[k]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[k] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Results of a request.
const (
	resultNotFound      = "not_found"
	resultRateLimited   = "rate_limited"
	resultUpstreamError = "upstream_error"
)

// Stats are the proxy's counters since it started.
type Stats struct {
	// Requests counts requests by result: "not_found" (unknown source),
	// "rate_limited", "upstream_error" (Nova unreachable), and Nova's
	// answers by status code ("200", "403", ...).
	Requests map[string]uint64
	// Upstream is how many requests reached Nova, and the time they took in
	// total and at most.
	Upstream      uint64
	UpstreamTotal time.Duration
	UpstreamMax   time.Duration
	// Listeners open now.
	Listeners int
}

type stats struct {
	mu       sync.Mutex
	requests map[string]uint64
	n        uint64
	total    time.Duration
	maxLat   time.Duration
}

func (s *stats) result(r string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests == nil {
		s.requests = map[string]uint64{}
	}
	s.requests[r]++
}

func (s *stats) status(code int) { s.result(fmt.Sprint(code)) }

func (s *stats) upstream(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.total += d
	s.maxLat = max(s.maxLat, d)
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Requests: map[string]uint64{}, Upstream: s.n, UpstreamTotal: s.total, UpstreamMax: s.maxLat}
	for k, v := range s.requests {
		out.Requests[k] = v
	}
	return out
}

// bufferPool lends the copy buffers of response bodies: without it a
// copy allocates 32 KiB per request.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }
