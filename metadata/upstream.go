package metadata

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// upstream is the pool of kept-alive connections to Nova. A request is
// written and its answer read by the handler's own goroutine: no reader
// and writer goroutine per connection and no channel hand-offs between
// them, as http.Transport has. Profiling the proxy path on the loaded
// 2-core bench machine showed those hand-offs (each a wake-up of another
// goroutine, often of another thread) as what separated it from haproxy;
// Nova's metadata API is plain HTTP/1.1, which is all this speaks.
type upstream struct {
	nova    *url.URL
	addr    string      // host:port to dial
	tls     *tls.Config // nil: http
	timeout time.Duration
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle int

	mu     sync.Mutex
	idle   []*upConn
	closed bool
}

// upConn is one connection to Nova with its buffers.
type upConn struct {
	c      net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	reused bool
	since  time.Time // returned to the pool
}

// idleMax is how long a connection may wait in the pool: shorter than
// the keep-alive timeouts of the servers Nova runs behind, so that a
// request rarely meets a connection the server is closing.
const idleMax = 30 * time.Second

func newUpstream(nova *url.URL, tlsCfg *tls.Config, timeout time.Duration, maxIdle int) *upstream {
	u := &upstream{nova: nova, timeout: timeout, maxIdle: maxIdle, dial: (&net.Dialer{Timeout: timeout}).DialContext}
	host, port := nova.Hostname(), nova.Port()
	if nova.Scheme == "https" {
		if port == "" {
			port = "443"
		}
		u.tls = tlsCfg.Clone()
		if u.tls == nil {
			u.tls = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if u.tls.ServerName == "" {
			u.tls.ServerName = host
		}
		u.tls.NextProtos = []string{"http/1.1"}
	} else if port == "" {
		port = "80"
	}
	u.addr = net.JoinHostPort(host, port)
	return u
}

// get returns a pooled connection, the most recently used first, or a
// new one.
func (u *upstream) get(ctx context.Context) (*upConn, error) {
	now := time.Now()
	u.mu.Lock()
	for len(u.idle) > 0 {
		c := u.idle[len(u.idle)-1]
		u.idle = u.idle[:len(u.idle)-1]
		if now.Sub(c.since) < idleMax {
			u.mu.Unlock()
			return c, nil
		}
		c.c.Close()
	}
	closed := u.closed
	u.mu.Unlock()
	if closed {
		return nil, net.ErrClosed
	}
	c, err := u.dial(ctx, "tcp", u.addr)
	if err != nil {
		return nil, err
	}
	if u.tls != nil {
		tc := tls.Client(c, u.tls)
		hctx, cancel := context.WithTimeout(ctx, u.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	return &upConn{c: c, br: bufio.NewReaderSize(c, 4<<10), bw: bufio.NewWriterSize(c, 4<<10)}, nil
}

// put returns c to the pool, or closes it when the pool is full.
func (u *upstream) put(c *upConn) {
	c.reused, c.since = true, time.Now()
	u.mu.Lock()
	if !u.closed && len(u.idle) < u.maxIdle {
		u.idle = append(u.idle, c)
		c = nil
	}
	u.mu.Unlock()
	if c != nil {
		c.c.Close()
	}
}

// close closes the idle connections and refuses new ones.
func (u *upstream) close() {
	u.mu.Lock()
	idle := u.idle
	u.idle, u.closed = nil, true
	u.mu.Unlock()
	for _, c := range idle {
		c.c.Close()
	}
}

// roundTrip sends out on a pooled connection and reads the response
// head; the caller reads the body and calls done. A kept-alive
// connection that fails before an answer (Nova closed it meanwhile) is
// retried once on a new one when out has no body to send again.
func (u *upstream) roundTrip(ctx context.Context, out *http.Request) (*http.Response, *upConn, error) {
	for attempt := 0; ; attempt++ {
		c, err := u.get(ctx)
		if err != nil {
			return nil, nil, err
		}
		deadline := time.Now().Add(u.timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		_ = c.c.SetDeadline(deadline)
		stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
		err = out.Write(c.bw)
		if err == nil {
			err = c.bw.Flush()
		}
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(c.br, out)
		}
		stop()
		if err == nil {
			return resp, c, nil
		}
		c.c.Close()
		replayable := out.Body == nil || out.Body == http.NoBody
		// A timeout is Nova being slow, not a stale connection: no retry.
		if !c.reused || attempt > 0 || !replayable || ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, nil, err
		}
	}
}

// done gives c back after its response's body was read to the end, and
// closes it otherwise or when Nova asked to close.
func (u *upstream) done(c *upConn, resp *http.Response, clean bool) {
	resp.Body.Close()
	if !clean || resp.Close || c.br.Buffered() > 0 {
		c.c.Close()
		return
	}
	u.put(c)
}

// hopByHop are the headers of one connection (RFC 9110 7.6.1), never
// forwarded in either direction.
var hopByHop = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// removeHopByHop deletes h's hop-by-hop headers and those its Connection
// header names.
func removeHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
}

// joinPath is Nova's URL path with the request's appended, one slash
// between them, in decoded and escaped form.
func joinPath(base, req *url.URL) (path, rawPath string) {
	if base.Path == "" || base.Path == "/" {
		return req.Path, req.RawPath
	}
	join := func(a, b string) string {
		return strings.TrimSuffix(a, "/") + "/" + strings.TrimPrefix(b, "/")
	}
	path = join(base.Path, req.Path)
	if base.RawPath == "" && req.RawPath == "" {
		return path, ""
	}
	return path, join(base.EscapedPath(), req.EscapedPath())
}

// copyBody copies Nova's answer to the guest; clean says it was read to
// its end.
func copyBody(w io.Writer, body io.Reader, buf []byte) (clean bool) {
	_, err := io.CopyBuffer(w, body, buf)
	return err == nil || errors.Is(err, io.EOF)
}
