package qos

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

func TestMain(m *testing.M) { lab.Main(m) }

// node is a host with one network and two instances, vm1 (with the policy
// under test) and vm2 (without).
type node struct {
	l        *lab.Lab
	host     *namespace.Handle
	vm1, vm2 *namespace.Handle
	d        Desired
	r        *Realizer
}

func newNode(t *testing.T) *node {
	l := lab.New(t)
	n := &node{l: l, host: l.Namespace("host"), vm1: l.Namespace("vm1"), vm2: l.Namespace("vm2")}
	net1 := network.Network{ID: "0a000000-0000-4000-8000-000000000001", MTU: 1500, NetworkType: network.TypeLocal}
	sub := subnet.Subnet{ID: "0b000000-0000-4000-8000-000000000001", NetworkID: net1.ID, IPVersion: 4,
		CIDR: netip.MustParsePrefix("100.64.10.0/24"), GatewayIP: netip.MustParseAddr("100.64.10.1")}
	nets, err := network.NewRealizer(n.host)
	require.NoError(t, err)
	_, err = nets.Apply(context.Background(), network.Desired{Networks: []network.Network{net1}})
	require.NoError(t, err)
	for i, h := range []*namespace.Handle{n.vm1, n.vm2} {
		n.d.Ports = append(n.d.Ports, port.Port{ID: fmt.Sprintf("0c00000%d-0000-4000-8000-000000000001", i+1), NetworkID: net1.ID,
			MACAddress: port.MAC{0xfa, 0x16, 0x3e, 0, 0, byte(i + 1)}, DeviceOwner: "compute:nova",
			FixedIPs: []port.FixedIP{{SubnetID: sub.ID, IPAddress: netip.MustParseAddr(fmt.Sprintf("100.64.10.%d", 11+i))}},
			Profile:  port.Profile{NetNS: h.Path(), IfName: "eth0", ConfigureIPs: true}})
	}
	n.d.Networks = []network.Network{net1}
	ports, err := port.NewRealizer(n.host)
	require.NoError(t, err)
	_, err = ports.Apply(context.Background(), port.Desired{Ports: n.d.Ports, Networks: n.d.Networks, Subnets: []subnet.Subnet{sub}})
	require.NoError(t, err)
	n.r, err = NewRealizer(n.host)
	require.NoError(t, err)
	t.Cleanup(func() { _ = n.r.Close() })
	return n
}

func (n *node) apply(t *testing.T) *Report {
	t.Helper()
	rep, err := n.r.Apply(context.Background(), n.d)
	require.NoError(t, err)
	return rep
}

// iperf measures TCP from vm1 to vm2 (reverse: vm2 to vm1) in kbps. A run
// that fails to start (the server not listening yet) is tried again.
func (n *node) iperf(t *testing.T, reverse bool) float64 {
	t.Helper()
	args := []string{"iperf3", "-c", "100.64.10.12", "-t", "5", "-O", "2", "-J"}
	if reverse {
		args = append(args, "-R")
	}
	type sum struct {
		BitsPerSecond float64 `json:"bits_per_second"`
	}
	var last string
	for range 5 {
		srv, out := n.l.Start(n.vm2, "iperf3", "-s", "-1", "-B", "100.64.10.12")
		time.Sleep(300 * time.Millisecond)
		res, err := n.l.Run(n.vm1, 30*time.Second, args...)
		lab.Stop(srv)
		var j struct {
			Error string `json:"error"`
			End   struct {
				Sent     sum `json:"sum_sent"`
				Received sum `json:"sum_received"`
			} `json:"end"`
		}
		// The first two seconds, where the bucket's burst passes, are
		// omitted (-O 2); iperf3 reports the rest on the client's side.
		if jerr := json.Unmarshal([]byte(res), &j); jerr == nil && err == nil && j.Error == "" {
			bps := j.End.Sent.BitsPerSecond
			if reverse {
				bps = j.End.Received.BitsPerSecond
			}
			if bps > 0 {
				return bps / 1000
			}
		}
		last = fmt.Sprintf("%v %s %s %s", err, j.Error, res, out.String())
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("iperf3 gave no figure: %s", last)
	return 0
}

func TestBandwidthLimitBothDirections(t *testing.T) {
	lab.RequireCmd(t, "iperf3")
	n := newNode(t)
	const max = 20000 // kbps
	n.d.Policies = []Policy{{ID: "q1", BandwidthLimitRules: []BandwidthLimitRule{
		{Direction: Egress, MaxKbps: max}, {Direction: Ingress, MaxKbps: max}}}}
	n.d.Ports[0].QoSPolicyID = "q1"
	rep := n.apply(t)
	assert.Equal(t, map[string]int{"qdisc": 1, "table": 1, "rule": 1}, rep.Created, "%v", rep.Changes)
	assert.Zero(t, n.apply(t).Mutations(), "second Apply")

	from, to := n.iperf(t, false), n.iperf(t, true)
	t.Logf("max_kbps %d: from the instance (policed) %.0f kbps (%.1f %%), toward it (tbf) %.0f kbps (%.1f %%)",
		max, from, 100*from/max, to, 100*to/max)
	// Generous bands: the machine is shared; the figures are logged. The
	// shaper (tbf) holds TCP at the rate. The policer drops what exceeds
	// it, and TCP backs off below the rate (as with tc police): it must
	// limit, and not starve the flow.
	assert.InDelta(t, max, to, 0.25*max, "toward the instance")
	assert.Greater(t, from, 0.4*max, "from the instance")
	assert.Less(t, from, 1.25*max, "from the instance")

	// Removing the rules restores the full rate.
	n.d.Policies[0].BandwidthLimitRules = nil
	n.d.Policies[0].DSCPMarkingRules = []DSCPMarkingRule{{DSCPMark: 26}} // keeps the table
	rep = n.apply(t)
	assert.Equal(t, 1, rep.Deleted["qdisc"], "%v", rep.Changes)
	assert.Equal(t, 1, rep.Deleted["rule"], "%v", rep.Changes)
	from, to = n.iperf(t, false), n.iperf(t, true)
	t.Logf("without the limit: %.0f and %.0f kbps", from, to)
	assert.Greater(t, from, 3.0*max)
	assert.Greater(t, to, 3.0*max)

	// The policy gone, the table goes.
	n.d.Ports[0].QoSPolicyID = ""
	rep = n.apply(t)
	assert.Equal(t, map[string]int{"table": 1}, rep.Deleted, "%v", rep.Changes)
	assert.Zero(t, n.apply(t).Mutations())
}

// tosOf sends one UDP datagram from h to addr (in dst) and returns the TOS
// byte it arrived with.
func tosOf(t *testing.T, from, dst *namespace.Handle, addr string) byte {
	t.Helper()
	var c *net.UDPConn
	require.NoError(t, dst.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
		if err != nil {
			return err
		}
		raw, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVTOS, 1) }); err != nil {
			return err
		}
		return serr
	}))
	defer c.Close()
	require.NoError(t, from.Do(func() error {
		s, err := net.Dial("udp", addr)
		if err != nil {
			return err
		}
		defer s.Close()
		_, err = s.Write([]byte("x"))
		return err
	}))
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf, oob := make([]byte, 16), make([]byte, 64)
	_, oobn, _, _, err := c.ReadMsgUDP(buf, oob)
	require.NoError(t, err)
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	require.NoError(t, err)
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_TOS && len(m.Data) > 0 {
			return m.Data[0]
		}
	}
	t.Fatal("no IP_TOS control message")
	return 0
}

func TestDSCPMarksTheInstancesTrafficOnly(t *testing.T) {
	n := newNode(t)
	// The network's policy applies; the port's own wins over it.
	n.d.Policies = []Policy{{ID: "net", DSCPMarkingRules: []DSCPMarkingRule{{DSCPMark: 10}}},
		{ID: "port", DSCPMarkingRules: []DSCPMarkingRule{{DSCPMark: 26}}}}
	n.d.Networks[0].QoSPolicyID = "net"
	n.d.Ports[0].QoSPolicyID = "port"
	n.d.Ports[1].QoSPolicyID = ""
	assert.Equal(t, byte(0), tosOf(t, n.vm1, n.vm2, "100.64.10.12:6999"), "before any policy")
	n.apply(t)
	assert.Equal(t, byte(26<<2), tosOf(t, n.vm1, n.vm2, "100.64.10.12:7000"), "vm1: its port's mark")
	assert.Equal(t, byte(10<<2), tosOf(t, n.vm2, n.vm1, "100.64.10.11:7000"), "vm2: its network's mark")

	// Live update: vm2 loses the network's policy and is no longer marked;
	// vm1 keeps its own.
	n.d.Networks[0].QoSPolicyID = ""
	rep := n.apply(t)
	assert.Equal(t, map[string]int{"rule": 2}, rep.Deleted, "%v", rep.Changes)
	assert.Equal(t, byte(0), tosOf(t, n.vm2, n.vm1, "100.64.10.11:7001"), "unmarked traffic")
	assert.Equal(t, byte(26<<2), tosOf(t, n.vm1, n.vm2, "100.64.10.12:7001"))
	assert.Zero(t, n.apply(t).Mutations())
}
