package ra

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/namespace"
)

// sent is one message a fakeConn was asked to send.
type sent struct {
	ra       *ndp.RouterAdvertisement
	src, dst netip.Addr
}

type solicitation struct {
	b    []byte
	hops int
	src  netip.Addr
}

// fakeConn stands in for the socket: solicitations are injected, sends
// recorded. refuse makes WriteTo fail, as a tentative source does.
type fakeConn struct {
	in     chan solicitation
	out    chan sent
	closed chan struct{}
	once   sync.Once

	mu     sync.Mutex
	refuse int
}

func newFakeConn() *fakeConn {
	return &fakeConn{in: make(chan solicitation, 8), out: make(chan sent, 64), closed: make(chan struct{})}
}

func (f *fakeConn) ReadFrom(ctx context.Context, b []byte) (int, int, netip.Addr, error) {
	select {
	case s := <-f.in:
		return copy(b, s.b), s.hops, s.src, nil
	case <-ctx.Done():
		return 0, 0, netip.Addr{}, ctx.Err()
	case <-f.closed:
		return 0, 0, netip.Addr{}, net.ErrClosed
	}
}

func (f *fakeConn) WriteTo(_ context.Context, b []byte, src, dst netip.Addr) error {
	f.mu.Lock()
	if f.refuse > 0 {
		f.refuse--
		f.mu.Unlock()
		return errors.New("cannot assign requested address")
	}
	f.mu.Unlock()
	m, err := ndp.ParseMessage(b)
	if err != nil {
		return err
	}
	f.out <- sent{m.(*ndp.RouterAdvertisement), src, dst}
	return nil
}

func (f *fakeConn) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

// next returns the next sent RA, failing after a generous wait.
func (f *fakeConn) next(t *testing.T) sent {
	t.Helper()
	select {
	case s := <-f.out:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no router advertisement sent")
		return sent{}
	}
}

func (f *fakeConn) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case s := <-f.out:
		t.Fatalf("unexpected RA to %s", s.dst)
	case <-time.After(within):
	}
}

func rs(t *testing.T, withSLLA bool) []byte {
	m := &ndp.RouterSolicitation{}
	if withSLLA {
		m.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: net.HardwareAddr{2, 0, 0, 0, 0, 9}}}
	}
	b, err := ndp.MarshalMessage(m)
	require.NoError(t, err)
	return b
}

// quiet is a timing under which no unsolicited RA follows the first during
// a test, so every further RA is caused by what the test does.
func quiet() Timing {
	t := DefaultTiming()
	t.MinInterval, t.MaxInterval, t.InitialInterval = time.Hour, time.Hour, time.Hour
	t.MaxResponseDelay, t.MinDelayBetweenRAs = 10*time.Millisecond, 10*time.Millisecond
	return t
}

// testServer returns a server whose sockets are fakeConns, by interface.
func testServer(t *testing.T, tm Timing) (*Server, map[string]*fakeConn) {
	conns := map[string]*fakeConn{}
	var mu sync.Mutex
	s, err := NewServer(WithTiming(tm), WithDialer(func(_ *namespace.Handle, ifname string) (Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		c := newFakeConn()
		conns[ifname] = c
		return c, nil
	}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, conns
}

var peer = netip.MustParseAddr("fe80::9")

func TestFirstRAGoesOutAtOnceToAllNodesFromTheLinkLocal(t *testing.T) {
	s, conns := testServer(t, quiet())
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 7, link(pfx("2001:db8:1::/64", SLAAC))))
	got := conns["qr-a"].next(t)
	require.Equal(t, allNodes, got.dst)
	require.Equal(t, testLLA, got.src)
	require.Equal(t, quiet().RouterLifetime(), got.ra.RouterLifetime)
	require.Equal(t, 7, s.Links("r1")["qr-a"].Index)
	require.Eventually(t, func() bool { return s.Links("r1")["qr-a"].Sent == 1 }, 5*time.Second, time.Millisecond)
}

func TestSolicitationAnsweredUnicastOrMulticast(t *testing.T) {
	s, conns := testServer(t, quiet())
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC))))
	c := conns["qr-a"]
	c.next(t)
	c.in <- solicitation{rs(t, true), HopLimit, peer}
	require.Equal(t, peer, c.next(t).dst, "a host with an address gets a unicast answer")

	c.in <- solicitation{rs(t, false), HopLimit, netip.IPv6Unspecified()}
	require.Equal(t, allNodes, c.next(t).dst, "a host without an address gets the multicast")
}

func TestInvalidSolicitationsIgnored(t *testing.T) {
	s, conns := testServer(t, quiet())
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC))))
	c := conns["qr-a"]
	c.next(t)
	c.in <- solicitation{rs(t, true), 64, peer}                            // forwarded from off-link
	c.in <- solicitation{rs(t, true), HopLimit, netip.IPv6Unspecified()}   // SLLA from ::
	c.in <- solicitation{[]byte{133, 1, 0, 0, 0, 0, 0, 0}, HopLimit, peer} // code 1
	c.none(t, 200*time.Millisecond)
}

func TestChangeSentAtOnceOnlyOnItsInterface(t *testing.T) {
	s, conns := testServer(t, quiet())
	a, b := link(pfx("2001:db8:1::/64", SLAAC)), link(pfx("2001:db8:2::/64", SLAAC))
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, a))
	require.NoError(t, s.Advertise(nil, "r1", "qr-b", 2, b))
	conns["qr-a"].next(t)
	conns["qr-b"].next(t)

	// Unchanged: nothing sent.
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, a))
	conns["qr-a"].none(t, 100*time.Millisecond)

	changed := link(pfx("2001:db8:1::/64", DHCPv6Stateful))
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, changed))
	got := conns["qr-a"].next(t)
	require.True(t, got.ra.ManagedConfiguration)
	conns["qr-b"].none(t, 100*time.Millisecond)
	require.Len(t, conns, 2, "a change opens no socket")
}

func TestLostPrefixAdvertisedWithLifetimeZero(t *testing.T) {
	s, conns := testServer(t, quiet())
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC), pfx("2001:db8:2::/64", SLAAC))))
	c := conns["qr-a"]
	c.next(t)
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC))))
	got := c.next(t)
	require.NotZero(t, got.ra.RouterLifetime, "the router stays a default router")
	pi := options[*ndp.PrefixInformation](got.ra)
	require.Len(t, pi, 2)
	require.Equal(t, netip.MustParseAddr("2001:db8:2::"), pi[1].Prefix)
	require.Zero(t, pi[1].ValidLifetime)
	require.Zero(t, pi[1].PreferredLifetime)
}

func TestWithdrawSendsFinalRAsBeforeReturning(t *testing.T) {
	s, conns := testServer(t, quiet())
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC))))
	c := conns["qr-a"]
	c.next(t)
	require.NoError(t, s.Withdraw("r1", "qr-a"))
	for range DefaultTiming().FinalCount {
		got := c.next(t)
		require.Zero(t, got.ra.RouterLifetime)
		require.Equal(t, allNodes, got.dst)
	}
	c.none(t, 50*time.Millisecond)
	require.Empty(t, s.Links("r1"))
	require.Empty(t, s.Groups())
	select {
	case <-c.closed:
	default:
		t.Fatal("socket left open")
	}
	require.NoError(t, s.Withdraw("r1", "qr-a"), "withdrawing twice is no error")
}

func TestCloseSendsNoFinalRA(t *testing.T) {
	s, conns := testServer(t, quiet())
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC))))
	c := conns["qr-a"]
	c.next(t)
	require.NoError(t, s.Close())
	c.none(t, 50*time.Millisecond)
	require.Error(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC))))
}

func TestRefusedSendRetried(t *testing.T) {
	s, conns := testServer(t, quiet())
	s.dial = func(*namespace.Handle, string) (Conn, error) {
		c := newFakeConn()
		c.refuse = 2 // the link-local address is still tentative
		conns["qr-a"] = c
		return c, nil
	}
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC))))
	conns["qr-a"].next(t)
	require.Eventually(t, func() bool { return s.Links("r1")["qr-a"].Err == nil }, 5*time.Second, time.Millisecond)
}

func TestNewIndexGetsNewSocket(t *testing.T) {
	s, conns := testServer(t, quiet())
	l := link(pfx("2001:db8:1::/64", SLAAC))
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, l))
	old := conns["qr-a"]
	old.next(t)
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 2, l))
	require.NotSame(t, old, conns["qr-a"])
	conns["qr-a"].next(t)
	old.none(t, 50*time.Millisecond)
}

func TestAdvertiseRefusesBadLinks(t *testing.T) {
	s, _ := testServer(t, quiet())
	require.Error(t, s.Advertise(nil, "r1", "qr-a", 1, link()))
	bad := link(pfx("2001:db8:1::/64", SLAAC))
	bad.Source = netip.Addr{}
	require.Error(t, s.Advertise(nil, "r1", "qr-a", 1, bad))
	require.Empty(t, s.Groups())
}

func TestUnsolicitedRAsKeepComing(t *testing.T) {
	tm := DefaultTiming()
	tm.MinInterval, tm.MaxInterval = 5*time.Millisecond, 10*time.Millisecond
	s, conns := testServer(t, tm)
	require.NoError(t, s.Advertise(nil, "r1", "qr-a", 1, link(pfx("2001:db8:1::/64", SLAAC))))
	for range 4 {
		require.Equal(t, allNodes, conns["qr-a"].next(t).dst)
	}
}

func TestConcurrentAdvertiseOneSocketPerInterface(t *testing.T) {
	var (
		mu  sync.Mutex
		all = map[string][]*fakeConn{}
	)
	s, err := NewServer(WithTiming(quiet()), WithDialer(func(_ *namespace.Handle, ifname string) (Conn, error) {
		c := newFakeConn()
		mu.Lock()
		all[ifname] = append(all[ifname], c)
		mu.Unlock()
		return c, nil
	}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := []string{"qr-a", "qr-b", "qr-c", "qr-d"}[i%4]
			require.NoError(t, s.Advertise(nil, "r1", name, 1, link(pfx("2001:db8:1::/64", SLAAC))))
		}()
	}
	wg.Wait()
	require.Len(t, s.Links("r1"), 4)
	for name, cs := range all {
		open := 0
		for _, c := range cs {
			select {
			case <-c.closed:
			default:
				open++
				c.next(t)
			}
		}
		require.Equal(t, 1, open, "open sockets on %s", name)
	}
}

func TestGoodbyeSendsFinalRAsFromAnUnknownInterface(t *testing.T) {
	s, conns := testServer(t, quiet())
	require.NoError(t, s.Goodbye(nil, "qr-x", testMAC, testLLA))
	c := conns["qr-x"]
	for range DefaultTiming().FinalCount {
		got := c.next(t)
		require.Zero(t, got.ra.RouterLifetime)
		require.Equal(t, testLLA, got.src)
	}
	select {
	case <-c.closed:
	default:
		t.Fatal("socket left open")
	}
	require.Empty(t, s.Groups())
	require.Error(t, s.Goodbye(nil, "qr-x", testMAC, netip.Addr{}), "no link-local source")
}
