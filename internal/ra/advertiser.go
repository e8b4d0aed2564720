package ra

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/ndp"
	"golang.org/x/net/ipv6"
)

// retryDelay is the first wait before resending an RA the kernel refused,
// doubled up to the next regular interval: a new interface's link-local
// address is tentative for a second or two (duplicate address detection)
// and cannot be a source until then.
const retryDelay = 100 * time.Millisecond

// advertiser sends the RAs of one interface through one socket: unsolicited
// ones on a timer, solicited ones in answer to router solicitations, at
// once when its Link changes. Its goroutines end with stop.
type advertiser struct {
	conn  Conn
	t     Timing
	log   *slog.Logger
	index int    // the interface's index when the socket was opened
	nsID  uint64 // and its namespace's (NamespaceID)

	mu   sync.Mutex
	link Link
	// gone are prefixes the link lost, advertised with lifetime 0 in the
	// next goneLeft RAs.
	gone     []netip.Prefix
	goneLeft int
	err      error // of the last send; nil once one succeeds

	sent    atomic.Uint64
	changed chan struct{} // buffered 1: the link changed
	solicit chan netip.Addr
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newAdvertiser(conn Conn, nsID uint64, index int, l Link, t Timing, log *slog.Logger) *advertiser {
	ctx, cancel := context.WithCancel(context.Background())
	a := &advertiser{conn: conn, t: t, log: log, nsID: nsID, index: index, link: l,
		changed: make(chan struct{}, 1), solicit: make(chan netip.Addr, 1), ctx: ctx, cancel: cancel}
	a.wg.Add(2)
	go a.read()
	go a.loop()
	return a
}

// update makes the advertiser send l from now on, at once.
func (a *advertiser) update(l Link) {
	a.mu.Lock()
	for _, p := range gonePrefixes(a.link, l) {
		if !slices.Contains(a.gone, p) {
			a.gone = append(a.gone, p)
		}
	}
	a.gone = slices.DeleteFunc(a.gone, func(p netip.Prefix) bool {
		return slices.ContainsFunc(l.Prefixes, func(q Prefix) bool { return q.CIDR == p })
	})
	a.goneLeft = max(a.t.InitialCount, 1)
	a.link = l
	a.mu.Unlock()
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// stop ends the goroutines and closes the socket, sending nothing more.
func (a *advertiser) stop() {
	a.cancel()
	_ = a.conn.Close()
	a.wg.Wait()
}

// withdraw stops the timer and the answers, sends the final RAs and closes
// the socket.
func (a *advertiser) withdraw() error {
	a.cancel()
	a.wg.Wait() // both goroutines end with the context; the socket stays open
	defer a.conn.Close()
	a.mu.Lock()
	l := a.link
	a.mu.Unlock()
	b, err := ndp.MarshalMessage(Final(l, a.t))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for range a.t.FinalCount {
		if err := a.conn.WriteTo(ctx, b, l.Source, allNodes); err != nil {
			return err
		}
		a.sent.Add(1)
	}
	return nil
}

// read passes valid router solicitations to loop (RFC 4861 §6.1.1: hop
// limit 255, code 0, no source link-layer address option from the
// unspecified address).
func (a *advertiser) read() {
	defer a.wg.Done()
	b := make([]byte, 1500)
	for {
		n, hops, src, err := a.conn.ReadFrom(a.ctx, b)
		if err != nil {
			if a.ctx.Err() != nil {
				return
			}
			a.log.Debug("router solicitation read failed", "err", err)
			select { // a socket whose device went away fails at once: do not spin
			case <-a.ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if hops != HopLimit || n < 8 || b[0] != byte(ipv6.ICMPTypeRouterSolicitation) || b[1] != 0 {
			continue
		}
		m, err := ndp.ParseMessage(b[:n])
		rs, ok := m.(*ndp.RouterSolicitation)
		if err != nil || !ok {
			continue
		}
		if src.IsUnspecified() && slices.ContainsFunc(rs.Options, func(o ndp.Option) bool {
			lla, ok := o.(*ndp.LinkLayerAddress)
			return ok && lla.Direction == ndp.Source
		}) {
			continue
		}
		select {
		case a.solicit <- src:
		default: // an answer is already pending
		}
	}
}

// loop sends the unsolicited RAs and the answers.
func (a *advertiser) loop() {
	defer a.wg.Done()
	var (
		sent          int // RAs since the link started or changed
		retry         = retryDelay
		lastMulticast time.Time
		tick          = time.NewTimer(0) // the first RA goes out at once
		answer        *time.Timer
		answerC       <-chan time.Time
		answerTo      netip.Addr
	)
	defer tick.Stop()
	for {
		select {
		case <-a.ctx.Done():
			if answer != nil {
				answer.Stop()
			}
			return
		case <-a.changed:
			sent = 0
			tick.Reset(0)
		case <-tick.C:
			if !a.send(allNodes) {
				tick.Reset(min(retry, a.t.next(sent)))
				retry *= 2
				continue
			}
			retry = retryDelay
			lastMulticast = time.Now()
			sent++
			tick.Reset(a.t.next(sent))
		case src := <-a.solicit:
			if answerC != nil {
				// Already answering: a second host makes it a multicast.
				if src != answerTo {
					answerTo = allNodes
				}
				continue
			}
			// RFC 7772: a unicast answer spares the link's other hosts;
			// a host without an address gets the multicast.
			answerTo = src
			if src.IsUnspecified() {
				answerTo = allNodes
			}
			d := a.t.responseDelay()
			if answerTo == allNodes {
				d = max(d, time.Until(lastMulticast.Add(a.t.MinDelayBetweenRAs)))
			}
			answer = time.NewTimer(d)
			answerC = answer.C
		case <-answerC:
			answerC = nil
			if a.send(answerTo) && answerTo == allNodes {
				lastMulticast = time.Now()
			}
		}
	}
}

// send sends the current RA to dst and reports whether it went out.
func (a *advertiser) send(dst netip.Addr) bool {
	a.mu.Lock()
	l := a.link
	b, err := ndp.MarshalMessage(advert(l, a.t, a.gone, false))
	a.mu.Unlock()
	if err == nil {
		err = a.conn.WriteTo(a.ctx, b, l.Source, dst)
	}
	a.mu.Lock()
	first := err != nil && a.err == nil
	a.err = err
	if err == nil && a.goneLeft > 0 {
		if a.goneLeft--; a.goneLeft == 0 {
			a.gone = nil
		}
	}
	a.mu.Unlock()
	if err != nil {
		if first && a.ctx.Err() == nil {
			a.log.Debug("router advertisement not sent", "to", dst, "err", err)
		}
		return false
	}
	a.sent.Add(1)
	return true
}

// status returns what the advertiser sends and how it went.
func (a *advertiser) status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Status{Link: a.link, Index: a.index, Sent: a.sent.Load(), Err: a.err}
}
