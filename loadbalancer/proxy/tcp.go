package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// attempts is how many members a connection is tried on before it is
// dropped: haproxy's "retries 3" with "option redispatch", as Neutron's
// driver configured it.
const attempts = 3

func (s *server) serveTCP() {
	defer s.wg.Done()
	s.accept(s.relay)
}

func clientAddr(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// dial connects to a member of the listener's default pool, trying others
// when one fails. It returns the member's index for connection counting.
func (s *server) dial(ctx context.Context, st *state, ps *poolState, client netip.Addr, sticky string) (net.Conn, int, error) {
	skip := map[int]bool{}
	var last error = errors.New("no member in rotation")
	for range attempts {
		i := ps.pick(client, sticky, skip)
		if i < 0 {
			break
		}
		dctx, cancel := context.WithTimeout(ctx, st.l.ConnectTimeout)
		m, err := s.net.DialContext(dctx, "tcp", ps.p.Members[i].Addr.String())
		cancel()
		if err == nil {
			return m, i, nil
		}
		last, skip[i] = err, true
	}
	return nil, -1, last
}

func (s *server) relay(c net.Conn) {
	defer c.Close()
	st := s.state.Load()
	ps := st.pools[st.l.DefaultPool]
	if ps == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.done:
			_ = c.Close()
		case <-ctx.Done():
		}
	}()
	m, i, err := s.dial(ctx, st, ps, clientAddr(c), "")
	if err != nil {
		s.log.Debug("no member reachable", "err", err)
		return
	}
	defer m.Close()
	ps.conns[i].Add(1)
	defer ps.conns[i].Add(-1)
	pipe(c, m)
}

// pipe copies both ways until both directions are done, passing half-closes
// on (io.Copy splices between TCP sockets).
func pipe(a, b net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	half := func(dst, src net.Conn) {
		defer wg.Done()
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
	}
	go half(a, b)
	go half(b, a)
	wg.Wait()
}
