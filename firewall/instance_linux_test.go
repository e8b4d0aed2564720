package firewall

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"

	"github.com/neutrino-net/neutrino/internal/lab"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/port"
)

// instanceWorld is a host namespace with two networks' bridges: vm1 and
// vm2 on network A, vm3 on network B with vm1's very addresses (tenant
// address spaces overlap) and vm4 beside it. Ports are veth pairs whose
// host ends tap<port id[:11]> are bridge ports, as the port realizer makes
// them.
type instanceWorld struct {
	*world
	ports map[string]port.Port
	vms   map[string]*namespace.Handle
}

// vm2's addresses, on vm1's subnets (and vm4's, on network B).
const vm1Peer4, vm1Peer6 = "100.64.1.20", "2001:db8:1::20"

func newInstanceWorld(t *testing.T) *instanceWorld {
	l := lab.New(t)
	w := &instanceWorld{world: &world{t: t, l: l, prefix: l.NodePrefix("n1")}, ports: map[string]port.Port{}, vms: map[string]*namespace.Handle{}}
	w.host = l.Namespace("host")
	// As the security group realizer leaves the node: bridged traffic
	// traverses the inet hooks, and conntrack tracks it (the kernel starts
	// tracking in a namespace once a rule there uses conntrack).
	for _, k := range []string{"net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables"} {
		require.NoError(t, w.host.Sysctl(k, "1"))
	}
	l.MustRun(w.host, "nft", "add table inet other; add chain inet other c { type filter hook forward priority 10; }; add rule inet other c ct state established counter")
	nets := map[string]string{"A": "na000000-0000-4000-8000-00000000000a", "B": "nb000000-0000-4000-8000-00000000000b"}
	for _, n := range nets {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: naming.Bridge(n)}}
		require.NoError(t, w.host.Netlink().LinkAdd(br))
		l.Up(w.host, br.Name)
	}
	for i, vm := range []struct{ name, net, v4, v6 string }{
		{"vm1", "A", vm1v4, vm1v6}, {"vm2", "A", vm1Peer4, vm1Peer6},
		{"vm3", "B", vm1v4, vm1v6}, {"vm4", "B", vm1Peer4, vm1Peer6},
	} {
		id := string(rune('1'+i)) + "0000000-0000-4000-8000-000000000001"
		p := port.Port{ID: id, NetworkID: nets[vm.net], DeviceOwner: "compute:nova", HostID: "n1",
			FixedIPs: []port.FixedIP{{IPAddress: netip.MustParseAddr(vm.v4)}, {IPAddress: netip.MustParseAddr(vm.v6)}}}
		h := l.Namespace(vm.name)
		// The lab's veth has the bridge side here and the instance side in h.
		l.Link(w.host, naming.Tap(id), nil, h, "eth0", []string{vm.v4 + "/24", vm.v6 + "/64"})
		tap, err := w.host.Netlink().LinkByName(naming.Tap(id))
		require.NoError(t, err)
		br, err := w.host.Netlink().LinkByName(naming.Bridge(p.NetworkID))
		require.NoError(t, err)
		require.NoError(t, w.host.Netlink().LinkSetMaster(tap, br))
		for _, pp := range []int{80, 81} {
			serveTCP(t, h, pp)
		}
		serveUDP(t, h, 5353)
		w.ports[vm.name], w.vms[vm.name] = p, h
	}
	return w
}

func (w *instanceWorld) desired(group Group, rules []Rule, policies []Policy) Desired {
	d := Desired{FirewallGroups: []Group{group}, FirewallRules: rules, FirewallPolicies: policies}
	for _, name := range []string{"vm1", "vm2", "vm3", "vm4"} {
		d.Ports = append(d.Ports, w.ports[name])
	}
	return d
}

// TestInstancePort filters an instance port in the host namespace: the
// port is told apart by its network's bridge and its addresses.
func TestInstancePort(t *testing.T) {
	w := newInstanceWorld(t)
	r := w.realizer()
	vm1, vm2, vm3, vm4 := w.vms["vm1"], w.vms["vm2"], w.vms["vm3"], w.vms["vm4"]
	d := w.desired(
		// Seen from the network: egress is towards the instance.
		Group{ID: "gi", Ports: []string{w.ports["vm1"].ID}, IngressPolicyID: "from-vm", EgressPolicyID: "to-vm"},
		[]Rule{
			{ID: "web", Protocol: "tcp", DestinationPort: "80", Action: "allow"},
			{ID: "web6", Protocol: "tcp", IPVersion: 6, DestinationPort: "80", Action: "allow"},
			{ID: "rej", Protocol: "tcp", DestinationPort: "81", Action: "reject"},
			{ID: "ping-out", Protocol: "icmp", Action: "allow"},
		},
		[]Policy{{ID: "to-vm", Rules: []string{"web", "web6", "rej"}}, {ID: "from-vm", Rules: []string{"ping-out"}}})
	// A flow up before the port is protected, on a port the policy will
	// not allow: protecting the port cuts it (the conntrack entries of the
	// port's addresses go; the host's other flows stay).
	var c net.Conn
	require.NoError(t, vm2.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", vm1v4+":81", 3*time.Second)
		return err
	}))
	defer c.Close()
	echo := func(wait time.Duration) error {
		_ = c.SetDeadline(time.Now().Add(wait))
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		_, err := c.Read(make([]byte, 4))
		return err
	}
	require.NoError(t, echo(3*time.Second))

	rep := w.apply(r, d)
	t.Log(rep.String())
	assert.Positive(t, rep.Deleted["conntrack"], rep.String())
	assert.Error(t, echo(probeTimeout), "the flow lost its permission")

	for _, c := range []struct {
		name  string
		from  *namespace.Handle
		proto string
		addr  string
		port  int
		want  string
	}{
		{"to the instance: allow", vm2, "tcp", vm1v4, 80, ok},
		{"to the instance: reject drops on instance ports", vm2, "tcp", vm1v4, 81, timeout},
		{"to the instance: default deny", vm2, "udp", vm1v4, 5353, timeout},
		{"to the instance: allow v6 (neighbour discovery passes)", vm2, "tcp", vm1v6, 80, ok},
		{"to the instance: default deny v6", vm2, "tcp", vm1v6, 81, timeout},
		{"from the instance: allow icmp", vm1, "icmp", vm1Peer4, 0, ok},
		{"from the instance: default deny", vm1, "tcp", vm1Peer4, 80, timeout},
		{"from the instance: default deny v6", vm1, "tcp", vm1Peer6, 80, timeout},
		{"same addresses on another network are not vm1", vm4, "tcp", vm1v4, 81, ok},
		{"same addresses on another network, from them", vm3, "tcp", vm1Peer4, 80, ok},
		{"same addresses on another network, v6", vm4, "udp", vm1v6, 5353, ok},
	} {
		assert.Equal(t, c.want, w.check(c.from, c.proto, c.addr, c.port, c.want), c.name)
	}
	rep = w.apply(r, d)
	assert.Zero(t, rep.Mutations(), rep.String())

	out := w.l.MustOutput(w.host, "nft", "list", "table", "inet", TableName)
	assert.Contains(t, out, `iifname "`+naming.Bridge(w.ports["vm1"].NetworkID)+`" ip saddr 100.64.1.10 jump ingress-gi`)

	// Flow logs on an instance port come from the host namespace.
	d.Logs = []Log{{ID: "l", ResourceType: ResourceFirewallGroup, TargetID: w.ports["vm1"].ID, Event: "DROP"}}
	w.apply(r, d)
	w.flowRecords()
	require.Equal(t, timeout, w.probe(vm2, "udp", vm1v4, 5353))
	got := w.waitRecords(1)
	require.Len(t, got, 1)
	assert.Equal(t, FlowRecord{Time: got[0].Time, LogIDs: []string{"l"}, PortID: w.ports["vm1"].ID, FirewallGroupID: "gi",
		RuleID: "default", Direction: DirEgress, Verdict: EventDrop, Protocol: 17,
		Src: netip.MustParseAddr(vm1Peer4), Dst: netip.MustParseAddr(vm1v4), SrcPort: got[0].SrcPort, DstPort: 5353}, got[0])

	// Teardown removes the host table.
	rep, err := r.Apply(context.Background(), Desired{})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Deleted["table"])
	assert.Equal(t, ok, w.check(vm2, "udp", vm1v4, 5353, ok))
}
