package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"path"
	"strings"
	"sync"
	"time"
)

type ctxKey struct{}

// bufferPool lends the reverse proxy its copy buffers: without one it
// allocates (and the GC clears) 32 KiB per request.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }

var buffers = &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

// choice is what the handler decided for one request, read by the reverse
// proxy's Rewrite, Transport and ModifyResponse.
type choice struct {
	ps     *poolState
	member int
	client netip.Addr
	cookie bool // set the persistence cookie on the response
}

func (s *server) serveHTTP() {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return s.net.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     60 * time.Second,
		DisableCompression:  true,
	}
	st := s.state.Load()
	tr.ResponseHeaderTimeout = st.l.MemberTimeout
	rp := &httputil.ReverseProxy{
		Transport:  tr,
		BufferPool: buffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			ch := pr.In.Context().Value(ctxKey{}).(*choice)
			l := s.state.Load().l
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = ch.ps.p.Members[ch.member].Addr.String()
			pr.Out.Host = pr.In.Host
			if l.ForwardedFor || l.ForwardedProto {
				pr.SetXForwarded()
				pr.Out.Header.Del("X-Forwarded-Host")
				if !l.ForwardedFor {
					pr.Out.Header.Del("X-Forwarded-For")
				}
				if !l.ForwardedProto {
					pr.Out.Header.Del("X-Forwarded-Proto")
				}
			}
		},
		ModifyResponse: func(r *http.Response) error {
			ch := r.Request.Context().Value(ctxKey{}).(*choice)
			if ch.cookie {
				r.Header.Add("Set-Cookie", (&http.Cookie{Name: ch.ps.p.Cookie, Value: ch.ps.p.Members[ch.member].ID, Path: "/"}).String())
				r.Header.Set("Cache-Control", "no-cache")
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.Debug("member failed", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
		},
	}
	hs := &http.Server{
		Handler:           s.handler(rp),
		ReadHeaderTimeout: st.l.ClientTimeout,
		IdleTimeout:       st.l.ClientTimeout,
		ErrorLog:          nil,
	}
	s.stop = func() {
		_ = hs.Close()
		tr.CloseIdleConnections()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := hs.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("serve", "err", err)
		}
	}()
}

func (s *server) handler(rp *httputil.ReverseProxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := s.state.Load()
		poolID := st.l.DefaultPool
		for i := range st.policies {
			pol := &st.policies[i]
			if !pol.matches(r) {
				continue
			}
			switch pol.p.Action {
			case "REJECT":
				http.Error(w, "Forbidden", http.StatusForbidden)
				return
			case "REDIRECT_TO_URL":
				http.Redirect(w, r, pol.p.URL, redirectCode(pol.p.Code))
				return
			case "REDIRECT_PREFIX":
				http.Redirect(w, r, strings.TrimSuffix(pol.p.Prefix, "/")+r.URL.RequestURI(), redirectCode(pol.p.Code))
				return
			case "REDIRECT_TO_POOL":
				poolID = pol.p.Pool
			}
			break
		}
		ps := st.pools[poolID]
		if ps == nil {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		client := clientAddrString(r.RemoteAddr)
		sticky := ""
		if ps.p.Cookie != "" {
			if c, err := r.Cookie(ps.p.Cookie); err == nil {
				sticky = c.Value
			}
		}
		i := ps.pick(client, sticky, nil)
		if i < 0 {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		ch := &choice{ps: ps, member: i, client: client, cookie: ps.p.Cookie != "" && sticky != ps.p.Members[i].ID}
		ps.conns[i].Add(1)
		defer ps.conns[i].Add(-1)
		rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, ch)))
	})
}

func clientAddrString(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func redirectCode(c int) int {
	if c == 0 {
		return http.StatusFound
	}
	return c
}

// matches reports whether every rule of the policy matches r (a policy
// without rules matches nothing, as in Octavia, where such a policy is
// never rendered).
func (p *policyState) matches(r *http.Request) bool {
	if len(p.rules) == 0 {
		return false
	}
	for i := range p.rules {
		if !p.rules[i].matches(r) {
			return false
		}
	}
	return true
}

func (rs *ruleState) matches(r *http.Request) bool {
	var v string
	present := true
	switch rs.r.Type {
	case "HOST_NAME":
		v = r.Host
		if h, _, err := net.SplitHostPort(v); err == nil {
			v = h
		}
	case "PATH":
		v = r.URL.Path
	case "FILE_TYPE":
		v = strings.TrimPrefix(path.Ext(r.URL.Path), ".")
	case "HEADER":
		vals, ok := r.Header[http.CanonicalHeaderKey(rs.r.Key)]
		present = ok && len(vals) > 0
		if present {
			v = vals[0]
		}
	case "COOKIE":
		c, err := r.Cookie(rs.r.Key)
		present = err == nil
		if present {
			v = c.Value
		}
	}
	ok := present && rs.compare(v)
	return ok != rs.r.Invert
}

func (rs *ruleState) compare(v string) bool {
	want := rs.r.Value
	switch rs.r.Compare {
	case "REGEX":
		return rs.re.MatchString(v)
	case "STARTS_WITH":
		return strings.HasPrefix(v, want)
	case "ENDS_WITH":
		return strings.HasSuffix(v, want)
	case "CONTAINS":
		return strings.Contains(v, want)
	case "EQUAL_TO":
		if rs.r.Type == "HOST_NAME" {
			return strings.EqualFold(v, want)
		}
		return v == want
	}
	return false
}
