package loadbalancer

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/neutrino-net/neutrino/namespace"
)

// nsNet opens sockets inside a load balancer's namespace, for the proxy
// and the health checker. A socket has no namespace option, so it is
// created inside namespace.Do; once created it is used from any goroutine.
type nsNet struct {
	h   *namespace.Handle
	seq atomic.Uint32
}

func (n *nsNet) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := n.h.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

func (n *nsNet) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.h.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Ping sends one ICMP echo request from a raw socket in the namespace and
// waits for the matching reply until ctx ends.
func (n *nsNet) Ping(ctx context.Context, addr netip.Addr) error {
	var pc *icmp.PacketConn
	if err := n.h.Do(func() (err error) {
		pc, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		return err
	}
	defer pc.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = pc.SetDeadline(dl)
	}
	id, seq := os.Getpid()&0xffff, int(n.seq.Add(1)&0xffff)
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("neutrino-health")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	dst := &net.IPAddr{IP: addr.AsSlice()}
	if _, err := pc.WriteTo(b, dst); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for {
		k, peer, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		if p, ok := peer.(*net.IPAddr); !ok || !p.IP.Equal(dst.IP) {
			continue
		}
		m, err := icmp.ParseMessage(1, buf[:k])
		if err != nil {
			continue
		}
		if e, ok := m.Body.(*icmp.Echo); ok && m.Type == ipv4.ICMPTypeEchoReply && e.ID == id && e.Seq == seq {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("ping %s: %w", addr, ctx.Err())
		}
	}
}
