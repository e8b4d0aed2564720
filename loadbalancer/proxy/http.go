package proxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The HTTP path is a loop per client connection: read a request, decide,
// forward it on a kept-alive member connection, copy the response back.
// One goroutine per client connection and no hand-offs between goroutines
// per request (net/http's server and Transport take three goroutines and
// two channel hand-offs per proxied request, which halved throughput on
// the two-core machines this is measured on). Protocol upgrades
// (WebSocket) are not proxied.

// hopHeaders are dropped when forwarding (RFC 9110 §7.6.1).
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Upgrade"}

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// backendConn is a kept-alive connection to a member.
type backendConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func (b *backendConn) close() {
	_ = b.c.Close()
	b.br.Reset(nil)
	b.bw.Reset(nil)
	readers.Put(b.br)
	writers.Put(b.bw)
}

// idlePool keeps idle member connections per member address.
type idlePool struct {
	mu   sync.Mutex
	idle map[netip.AddrPort][]*backendConn
	shut bool
}

const maxIdlePerMember = 256

func (p *idlePool) get(a netip.AddrPort) *backendConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.idle[a]
	if len(l) == 0 {
		return nil
	}
	b := l[len(l)-1]
	p.idle[a] = l[:len(l)-1]
	return b
}

func (p *idlePool) put(a netip.AddrPort, b *backendConn) {
	p.mu.Lock()
	if p.shut || len(p.idle[a]) >= maxIdlePerMember {
		p.mu.Unlock()
		b.close()
		return
	}
	p.idle[a] = append(p.idle[a], b)
	p.mu.Unlock()
}

func (p *idlePool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shut = true
	for a, l := range p.idle {
		for _, b := range l {
			b.close()
		}
		delete(p.idle, a)
	}
}

func (s *server) serveHTTP() {
	s.idle = &idlePool{idle: map[netip.AddrPort][]*backendConn{}}
	s.stop = s.idle.closeAll
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.accept(s.serveHTTPConn)
	}()
}

// accept runs the accept loop, serving each connection on its own
// goroutine, until the listener closes.
func (s *server) accept(serve func(net.Conn)) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept", "err", err)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			serve(c)
		}()
	}
}

func (s *server) serveHTTPConn(c net.Conn) {
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-s.done:
			_ = c.Close()
		case <-stop:
		}
	}()
	br := readers.Get().(*bufio.Reader)
	bw := writers.Get().(*bufio.Writer)
	br.Reset(c)
	bw.Reset(c)
	defer func() {
		br.Reset(nil)
		bw.Reset(nil)
		readers.Put(br)
		writers.Put(bw)
	}()
	client := clientAddr(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(s.state.Load().l.ClientTimeout))
		req, err := http.ReadRequest(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isTimeout(err) {
				writeStatus(bw, http.StatusBadRequest, true)
			}
			return
		}
		_ = c.SetReadDeadline(time.Time{})
		// The state of when the request arrived, not of when the
		// connection last waited: a configuration swap applies to the
		// next request on every kept-alive connection.
		keep, err := s.serveRequest(s.state.Load(), req, client, bw)
		if err != nil || !keep {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writeStatus answers with an empty response of the given status.
func writeStatus(bw *bufio.Writer, code int, closeConn bool) {
	resp := &http.Response{StatusCode: code, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Close: closeConn, ContentLength: 0}
	_ = resp.Write(bw)
	_ = bw.Flush()
}

func writeRedirect(bw *bufio.Writer, code int, url string, closeConn bool) error {
	resp := &http.Response{StatusCode: code, ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{"Location": {url}}, Close: closeConn}
	if err := resp.Write(bw); err != nil {
		return err
	}
	return bw.Flush()
}

// serveRequest answers one request and reports whether the client
// connection stays open.
func (s *server) serveRequest(st *state, req *http.Request, client netip.Addr, bw *bufio.Writer) (bool, error) {
	defer req.Body.Close()
	closeAfter := req.Close
	poolID := st.l.DefaultPool
	for i := range st.policies {
		pol := &st.policies[i]
		if !pol.matches(req) {
			continue
		}
		switch pol.p.Action {
		case "REJECT":
			writeStatus(bw, http.StatusForbidden, closeAfter)
			return !closeAfter, nil
		case "REDIRECT_TO_URL":
			return !closeAfter, writeRedirect(bw, redirectCode(pol.p.Code), pol.p.URL, closeAfter)
		case "REDIRECT_PREFIX":
			return !closeAfter, writeRedirect(bw, redirectCode(pol.p.Code), strings.TrimSuffix(pol.p.Prefix, "/")+req.URL.RequestURI(), closeAfter)
		case "REDIRECT_TO_POOL":
			poolID = pol.p.Pool
		}
		break
	}
	ps := st.pools[poolID]
	if ps == nil {
		writeStatus(bw, http.StatusServiceUnavailable, closeAfter)
		return !closeAfter, nil
	}
	sticky := ""
	if ps.p.Cookie != "" {
		if c, err := req.Cookie(ps.p.Cookie); err == nil {
			sticky = c.Value
		}
	}
	prepareOutgoing(req, st.l, client)
	// Like haproxy's "retries 3" with "option redispatch": a member that
	// cannot be reached is skipped for this request, if it has no body
	// that a first attempt may have consumed.
	var (
		skip map[int]bool
		m    Member
		resp *http.Response
		be   *backendConn
		err  error
	)
	for range attempts {
		i := ps.pick(client, sticky, skip)
		if i < 0 {
			break
		}
		m = ps.p.Members[i]
		ps.conns[i].Add(1)
		resp, be, err = s.roundTrip(st, m.Addr, req)
		if err == nil {
			defer ps.conns[i].Add(-1) // until the response is copied
			break
		}
		ps.conns[i].Add(-1)
		if hasBody(req) {
			break
		}
		s.log.Debug("member failed", "member", m.ID, "err", err)
		if skip == nil {
			skip = map[int]bool{}
		}
		skip[i] = true
	}
	if resp == nil {
		writeStatus(bw, http.StatusServiceUnavailable, closeAfter)
		return !closeAfter, nil
	}
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	if ps.p.Cookie != "" && sticky != m.ID {
		resp.Header.Add("Set-Cookie", (&http.Cookie{Name: ps.p.Cookie, Value: m.ID, Path: "/"}).String())
		resp.Header.Set("Cache-Control", "no-cache")
	}
	memberKeeps := !resp.Close
	resp.Close = closeAfter
	werr := resp.Write(bw)
	if werr == nil {
		werr = bw.Flush()
	}
	// resp.Write read the body to its end: the member connection is
	// reusable unless the member or an error said otherwise.
	_ = resp.Body.Close()
	if memberKeeps && werr == nil {
		_ = be.c.SetDeadline(time.Time{})
		s.idle.put(m.Addr, be)
	} else {
		be.close()
	}
	return !closeAfter && werr == nil, werr
}

// prepareOutgoing turns the client's request into the member's: hop-by-hop
// headers dropped, X-Forwarded-For/-Proto/-Port set as the listener says.
func prepareOutgoing(req *http.Request, l *Listener, client netip.Addr) {
	if c := req.Header.Get("Connection"); c != "" {
		for _, f := range strings.Split(c, ",") {
			if f = strings.TrimSpace(f); f != "" {
				req.Header.Del(f)
			}
		}
	}
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	if l.ForwardedFor && client.IsValid() {
		if prior := req.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			req.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+client.String())
		} else {
			req.Header.Set("X-Forwarded-For", client.String())
		}
	}
	if l.ForwardedProto {
		req.Header.Set("X-Forwarded-Proto", "http")
	}
	if l.ForwardedPort {
		req.Header.Set("X-Forwarded-Port", strconv.Itoa(int(l.Addr.Port())))
	}
	req.Close = false
}

// roundTrip sends req to the member on an idle connection, or a new one;
// a request without a body whose idle connection turns out dead (the
// member closed it meanwhile) is retried once on a new connection.
func (s *server) roundTrip(st *state, a netip.AddrPort, req *http.Request) (*http.Response, *backendConn, error) {
	if be := s.idle.get(a); be != nil {
		resp, err := send(be, req, st.l.MemberTimeout)
		if err == nil {
			return resp, be, nil
		}
		be.close()
		if hasBody(req) {
			return nil, nil, err
		}
	}
	be, err := s.dialMember(st, a)
	if err != nil {
		return nil, nil, err
	}
	resp, err := send(be, req, st.l.MemberTimeout)
	if err != nil {
		be.close()
		return nil, nil, err
	}
	return resp, be, nil
}

func hasBody(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0
}

func (s *server) dialMember(st *state, a netip.AddrPort) (*backendConn, error) {
	ctx, cancel := contextWithTimeout(st.l.ConnectTimeout)
	defer cancel()
	c, err := s.net.DialContext(ctx, "tcp", a.String())
	if err != nil {
		return nil, err
	}
	br := readers.Get().(*bufio.Reader)
	bw := writers.Get().(*bufio.Writer)
	br.Reset(c)
	bw.Reset(c)
	return &backendConn{c: c, br: br, bw: bw}, nil
}

func send(be *backendConn, req *http.Request, timeout time.Duration) (*http.Response, error) {
	_ = be.c.SetDeadline(time.Now().Add(timeout))
	if err := req.Write(be.bw); err != nil {
		return nil, err
	}
	if err := be.bw.Flush(); err != nil {
		return nil, err
	}
	return http.ReadResponse(be.br, req)
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
