package router

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/namespace"
)

const pfFIP = "203.0.113.30"

// pfFloatingIP adds a floating IP of the world's router used only by
// port forwardings (router_id, no port_id), as Neutron reports it.
func (w *world) pfFloatingIP(pfs ...PortForwarding) *FloatingIP {
	w.b.d.FloatingIPs = append(w.b.d.FloatingIPs, FloatingIP{ID: w.b.id(), FloatingIPAddress: netip.MustParseAddr(pfFIP),
		FloatingNetworkID: w.extNet, RouterID: w.router, PortForwardings: pfs})
	return &w.b.d.FloatingIPs[len(w.b.d.FloatingIPs)-1]
}

func forward(id, proto, ext, in, addr string) PortForwarding {
	pf := PortForwarding{ID: id, Protocol: proto, InternalPortID: "port-" + addr, InternalIPAddress: netip.MustParseAddr(addr)}
	if strings.Contains(ext, ":") {
		pf.ExternalPortRange = ext
	} else {
		fmt.Sscan(ext, &pf.ExternalPort)
	}
	if strings.Contains(in, ":") {
		pf.InternalPortRange = in
	} else {
		fmt.Sscan(in, &pf.InternalPort)
	}
	return pf
}

// serveUDP answers each datagram on addr inside h with name.
func serveUDP(t *testing.T, h *namespace.Handle, name, addr string) {
	t.Helper()
	var pc net.PacketConn
	require.NoError(t, h.Do(func() error {
		var err error
		pc, err = net.ListenPacket("udp", addr)
		return err
	}))
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo([]byte(name), from)
		}
	}()
}

// askUDP sends one datagram from h to addr and returns the answer ("" for
// none within a second; three tries).
func askUDP(t *testing.T, h *namespace.Handle, addr string) string {
	t.Helper()
	var answer string
	require.NoError(t, h.Do(func() error {
		c, err := net.Dial("udp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 64)
		for range 3 {
			if _, err := c.Write([]byte("hi")); err != nil {
				return err
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			if n, err := c.Read(buf); err == nil {
				answer = string(buf[:n])
				return nil
			}
		}
		return nil
	}))
	return answer
}

// dialFails reports whether a TCP connection from h to addr is refused or
// times out.
func dialFails(h *namespace.Handle, addr string) bool {
	err := h.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	return err != nil
}

func TestPortForwardingTCPUDPAndRanges(t *testing.T) {
	w := newWorld(t)
	serve(t, w.vm2, "vm2-8081", "100.64.2.10:8081")
	serve(t, w.vm2, "vm2-8082", "100.64.2.10:8082")
	serveUDP(t, w.vm3, "vm3-udp", "100.64.1.11:9999")
	serveUDP(t, w.vm1, "vm1-udp", "100.64.1.10:9999")
	serveUDP(t, w.vm2, "vm2-udp", "100.64.2.10:9999")
	w.pfFloatingIP(
		forward("pf-ssh", "tcp", "2222", "8080", "100.64.1.10"),
		forward("pf-range", "tcp", "3000:3002", "8080:8082", "100.64.2.10"),
		forward("pf-udp", "udp", "5353", "9999", "100.64.1.11"),
		forward("pf-udp-many", "udp", "6000:6001", "9999", "100.64.1.10"),
	)
	rep := w.apply(w.r)
	assert.Equal(t, 1+3+1+2+2, rep.Created["nft-element"], "one element per external port, two per FIP: %v", rep.Changes)

	assert.Equal(t, "vm1", greet(t, w.ext, pfFIP+":2222"))
	assert.Equal(t, extHostAddr, w.vm1Srv.last(), "no SNAT: the instance sees the client")
	// The range maps one to one.
	assert.Equal(t, "vm2", greet(t, w.ext, pfFIP+":3000"))
	assert.Equal(t, "vm2-8081", greet(t, w.ext, pfFIP+":3001"))
	assert.Equal(t, "vm2-8082", greet(t, w.ext, pfFIP+":3002"))
	assert.Equal(t, "vm3-udp", askUDP(t, w.ext, pfFIP+":5353"))
	assert.Equal(t, "vm1-udp", askUDP(t, w.ext, pfFIP+":6000"))
	assert.Equal(t, "vm1-udp", askUDP(t, w.ext, pfFIP+":6001"))
	// Nothing else of the FIP is forwarded: not TCP 5353, nor UDP 2222.
	assert.True(t, dialFails(w.ext, pfFIP+":5353"))
	assert.Empty(t, askUDP(t, w.ext, pfFIP+":2222"))
	// The associated floating IP still works beside it.
	assert.Equal(t, "vm1", greet(t, w.ext, fipAddr+":8080"))

	rep = w.apply(w.r)
	assert.Zero(t, rep.Mutations(), "second Apply: %v", rep.Changes)

	// Removing one forwarding cuts it and leaves the others, with one
	// element deleted.
	f := &w.b.d.FloatingIPs[len(w.b.d.FloatingIPs)-1]
	f.PortForwardings = f.PortForwardings[1:]
	rep = w.apply(w.r)
	assert.Equal(t, 1, rep.Deleted["nft-element"], "%v", rep.Changes)
	assert.Equal(t, 1, rep.Mutations()-rep.Deleted["conntrack"], "%v", rep.Changes)
	assert.True(t, dialFails(w.ext, pfFIP+":2222"), "removed forwarding still reaches vm1")
	assert.Equal(t, "vm2-8081", greet(t, w.ext, pfFIP+":3001"))
	assert.Equal(t, "vm3-udp", askUDP(t, w.ext, pfFIP+":5353"))

	// Redirecting a forwarding moves it.
	f.PortForwardings[1].InternalIPAddress = netip.MustParseAddr("100.64.2.10")
	w.apply(w.r)
	assert.Equal(t, "vm2-udp", askUDP(t, w.ext, pfFIP+":5353"))

	// The last forwarding gone, the FIP address leaves the gateway.
	f.PortForwardings = nil
	w.apply(w.r)
	rep = w.apply(w.r)
	assert.Zero(t, rep.Mutations(), "%v", rep.Changes)
	plan, err := w.r.Plan(context.Background(), w.b.d)
	require.NoError(t, err)
	assert.Zero(t, plan.Mutations())
}
