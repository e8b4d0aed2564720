package port

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/subnet"
)

const (
	unitNet    = "nnnnnnnn-1111-4000-8000-000000000001"
	unitBridge = "brqnnnnnnnn-11"
)

func unitDesired() Desired {
	sub := subnet.Subnet{ID: "s4", NetworkID: unitNet, IPVersion: 4, CIDR: netip.MustParsePrefix("100.64.0.0/24"), GatewayIP: netip.MustParseAddr("100.64.0.1")}
	sub6 := subnet.Subnet{ID: "s6", NetworkID: unitNet, IPVersion: 6, CIDR: netip.MustParsePrefix("2001:db8::/64"), NoGateway: true}
	return Desired{
		Networks: []network.Network{{ID: unitNet, NetworkType: network.TypeLocal, MTU: 1450}},
		Subnets:  []subnet.Subnet{sub, sub6},
		Ports: []Port{
			{ID: "vvvvvvvvvvv-1", NetworkID: unitNet, MACAddress: MustParseMAC("fa:16:3e:00:00:01"), DeviceOwner: "compute:nova",
				FixedIPs: []FixedIP{{SubnetID: "s4", IPAddress: netip.MustParseAddr("100.64.0.5")}, {SubnetID: "s6", IPAddress: netip.MustParseAddr("2001:db8::5")}},
				Profile:  Profile{NetNS: "vm1", ConfigureIPs: true}},
			{ID: "ttttttttttt-2", NetworkID: unitNet, MACAddress: MustParseMAC("fa:16:3e:00:00:02"), DeviceOwner: "compute:nova"},
			{ID: "rrrrrrrrrrr-3", NetworkID: unitNet, MACAddress: MustParseMAC("fa:16:3e:00:00:03"), DeviceOwner: OwnerRouterInterface, DeviceID: "r1"},
		},
	}
}

func unitHost() *observed {
	return &observed{
		host: map[string]*hostDev{
			"lo":       {Name: "lo", Kind: "device", Index: 1, Up: true},
			unitBridge: {Name: unitBridge, Kind: "bridge", Index: 2, Alias: "neutrino:bridge:" + unitNet, MTU: 1450, Up: true},
		},
		inst: map[string]*instView{"vvvvvvvvvvv-1": {nsid: 7}},
	}
}

func planLines(t *testing.T, d Desired, o *observed) ([]string, error) {
	t.Helper()
	w, err := d.validate()
	require.NoError(t, err)
	changes, err := plan(w, o, false)
	var lines []string
	for _, c := range changes {
		lines = append(lines, c.Line())
	}
	return lines, err
}

func TestPlanCreatesInstancePortsOnly(t *testing.T) {
	lines, err := planLines(t, unitDesired(), unitHost())
	require.NoError(t, err)
	assert.Equal(t, []string{
		"create port tapttttttttttt (tap, bridge brqnnnnnnnn-11)",
		"create port tapvvvvvvvvvvv (veth eth0 in /run/netns/vm1, bridge brqnnnnnnnn-11, 100.64.0.5/24, 2001:db8::5/64)",
	}, lines, "the router port is the router realizer's")

	d := unitDesired()
	w, err := d.validate()
	require.NoError(t, err)
	v := w.ports[1]
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("100.64.0.1")}, v.gateways, "one default route; the IPv6 subnet has no gateway")
	changes, _ := plan(w, unitHost(), false)
	assert.Equal(t, []op{opVeth{v}, opUp{v.tap, true}, opPeerUp{v},
		opAddr{w: v, a: netip.MustParsePrefix("100.64.0.5/24"), add: true}, opAddr{w: v, a: netip.MustParsePrefix("2001:db8::5/64"), add: true},
		opRoute{w: v, gw: netip.MustParseAddr("100.64.0.1"), add: true}}, changes[1].Ops)
}

// converged is unitHost with both ports in place as the realizer makes them.
func converged() *observed {
	o := unitHost()
	o.host["tapttttttttttt"] = &hostDev{Name: "tapttttttttttt", Kind: "tuntap", Index: 3, Alias: "neutrino:port:ttttttttttt-2", MTU: 1450, Up: true, Master: unitBridge, TapMode: true}
	o.host["tapvvvvvvvvvvv"] = &hostDev{Name: "tapvvvvvvvvvvv", Kind: "veth", Index: 4, Alias: "neutrino:port:vvvvvvvvvvv-1", MTU: 1450, Up: true, Master: unitBridge, PeerIndex: 2, PeerNetNS: 7}
	peer := &instDev{Index: 2, Name: "eth0", Kind: "veth", MAC: "fa:16:3e:00:00:01", MTU: 1450, Up: true, PeerIndex: 4}
	o.inst["vvvvvvvvvvv-1"] = &instView{nsid: 7, peer: peer, named: peer,
		addrs:  []netip.Prefix{netip.MustParsePrefix("100.64.0.5/24"), netip.MustParsePrefix("2001:db8::5/64")},
		routes: []netip.Addr{netip.MustParseAddr("100.64.0.1")}}
	return o
}

func TestPlanConvergedIsEmpty(t *testing.T) {
	lines, err := planLines(t, unitDesired(), converged())
	require.NoError(t, err)
	assert.Empty(t, lines)
}

func TestPlanRepairs(t *testing.T) {
	o := converged()
	o.host["tapttttttttttt"].MTU = 1500
	o.host["tapttttttttttt"].Master = ""
	v := o.inst["vvvvvvvvvvv-1"]
	v.peer.Name, v.named = "eth9", nil
	v.peer.MAC, v.peer.Up = "fa:16:3e:00:00:99", false
	v.addrs = []netip.Prefix{netip.MustParsePrefix("100.64.0.99/24"), netip.MustParsePrefix("2001:db8::5/64")}
	v.routes = nil
	lines, err := planLines(t, unitDesired(), o)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"update port tapttttttttttt: mtu 1500 -> 1450, master none -> brqnnnnnnnn-11",
		"update port tapvvvvvvvvvvv: instance end eth9 -> eth0, eth0 mac fa:16:3e:00:00:99 -> fa:16:3e:00:00:01, eth0 up",
		"delete address 100.64.0.99/24 on eth0 in /run/netns/vm1",
		"create address 100.64.0.5/24 on eth0 in /run/netns/vm1",
		"create address 2001:db8::5/64 on eth0 in /run/netns/vm1", // flushed by the rename's link down
		"create route default via 100.64.0.1 on eth0 in /run/netns/vm1",
	}, lines)
}

func TestPlanRecreates(t *testing.T) {
	o := converged()
	o.host["tapttttttttttt"].MultiQueue = true
	o.inst["vvvvvvvvvvv-1"].peer = nil // the host end leads elsewhere
	o.inst["vvvvvvvvvvv-1"].named = nil
	lines, err := planLines(t, unitDesired(), o)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"update port tapttttttttttt: re-create (tun mode or multi-queue)",
		"update port tapvvvvvvvvvvv: re-create (peer missing from /run/netns/vm1)",
	}, lines)

	// ...unless the instance's name is held by another device.
	o.inst["vvvvvvvvvvv-1"].named = &instDev{Index: 9, Name: "eth0", Kind: "veth"}
	lines, err = planLines(t, unitDesired(), o)
	require.ErrorIs(t, err, errdefs.ErrConflict)
	assert.ErrorContains(t, err, "vvvvvvvvvvv-1")
	assert.Len(t, lines, 1)
}

func TestPlanDeletesOnlyOwnStalePorts(t *testing.T) {
	o := converged()
	o.host["tapold"] = &hostDev{Name: "tapold", Kind: "veth", Alias: "neutrino:port:old"}
	o.host["taprouter"] = &hostDev{Name: "taprouter", Kind: "veth", Alias: "neutrino:router-port:r"}
	o.host["tapforeign"] = &hostDev{Name: "tapforeign", Kind: "veth"}
	lines, err := planLines(t, unitDesired(), o)
	require.NoError(t, err)
	assert.Equal(t, []string{"delete port tapold"}, lines)
}

func TestPlanPortErrors(t *testing.T) {
	o := unitHost()
	o.host["tapttttttttttt"] = &hostDev{Name: "tapttttttttttt", Kind: "tuntap", Alias: "neutrino:router-port:x"}
	o.inst["vvvvvvvvvvv-1"] = &instView{err: errdefs.NotFound("netns", "gone")}
	_, err := planLines(t, unitDesired(), o)
	require.ErrorIs(t, err, errdefs.ErrConflict)
	require.ErrorIs(t, err, errdefs.ErrNotFound)

	delete(o.host, unitBridge)
	o.inst["vvvvvvvvvvv-1"] = &instView{nsid: 3}
	delete(o.host, "tapttttttttttt")
	_, err = planLines(t, unitDesired(), o)
	require.ErrorIs(t, err, errdefs.ErrNotFound)
	assert.ErrorContains(t, err, "realize the port's network first")

	// A dry run takes the bridge for one about to be made.
	d := unitDesired()
	w, err := d.validate()
	require.NoError(t, err)
	changes, err := plan(w, o, true)
	require.NoError(t, err)
	assert.Len(t, changes, 2)
}

func TestDesiredValidation(t *testing.T) {
	cases := map[string]struct {
		edit func(*Desired)
		kind error
		path string
	}{
		"network mtu":    {func(d *Desired) { d.Networks[0].MTU = 0 }, errdefs.ErrInvalid, "networks[0].mtu"},
		"unknown net":    {func(d *Desired) { d.Ports[1].NetworkID = "x" }, errdefs.ErrNotFound, "ports[1].network_id"},
		"unknown subnet": {func(d *Desired) { d.Ports[0].FixedIPs[0].SubnetID = "x" }, errdefs.ErrNotFound, "ports[0].fixed_ips[0].subnet_id"},
		"outside subnet": {func(d *Desired) { d.Ports[0].FixedIPs[0].IPAddress = netip.MustParseAddr("100.65.0.5") }, errdefs.ErrInvalid, "ports[0].fixed_ips[0].ip_address"},
		"same tap":       {func(d *Desired) { d.Ports[1].ID = "vvvvvvvvvvv-9" }, errdefs.ErrConflict, "ports[1].id"},
		"same ifname": {func(d *Desired) {
			d.Ports[1].Profile = Profile{NetNS: "/run/netns/vm1", IfName: "eth0"}
		}, errdefs.ErrConflict, "ports[1].binding:profile.ifname"},
		"port model": {func(d *Desired) { d.Ports[1].MACAddress = nil }, errdefs.ErrInvalid, "ports[1].mac_address"},
		"trunk sub-ports": {func(d *Desired) {
			d.Ports[1].TrunkDetails = &TrunkDetails{TrunkID: "t", SubPorts: []SubPort{{PortID: "sp", SegmentationType: "vlan", SegmentationID: 10}}}
		}, errdefs.ErrNotFound, "ports[1].trunk_details.sub_ports[0].port_id"},
		"vnic type": {func(d *Desired) { d.Ports[1].VNICType = "macvtap" }, errdefs.ErrUnsupported, "ports[1].binding:vnic_type"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := unitDesired()
			c.edit(&d)
			_, err := d.validate()
			require.ErrorIs(t, err, c.kind)
			var fe *errdefs.FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Equal(t, c.path, fe.Path)
		})
	}
	// Without configure_ips, subnets are not looked up.
	d := unitDesired()
	d.Ports[0].Profile.ConfigureIPs = false
	d.Subnets = nil
	_, err := d.validate()
	require.NoError(t, err)
}

func TestL2ForHost(t *testing.T) {
	hosts := map[string]netip.Addr{"n1": netip.MustParseAddr("198.18.0.1"), "n2": netip.MustParseAddr("198.18.0.2")}
	nets := []network.Network{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	subs := []subnet.Subnet{{ID: "sa", NetworkID: "a"}, {ID: "sb", NetworkID: "b"}, {ID: "sc", NetworkID: "c"}}
	ports := []Port{
		{ID: "1", NetworkID: "a", HostID: "n1", DeviceOwner: "compute:nova"},
		{ID: "2", NetworkID: "a", HostID: "n2", MACAddress: MustParseMAC("fa:16:3e:00:00:02"),
			FixedIPs: []FixedIP{{SubnetID: "sa", IPAddress: netip.MustParseAddr("10.0.0.2")}}},
		{ID: "3", NetworkID: "b", HostID: "n1", DeviceOwner: OwnerDHCP},
		{ID: "4", NetworkID: "b", HostID: "n3"}, // n3 has no tunnel address
		{ID: "5", NetworkID: "c", HostID: "n2"}, // c has nothing on n1
		{ID: "6", NetworkID: "a"},               // unbound
	}
	nd, pd := L2ForHost("n1", hosts, nets, subs, ports)
	assert.Equal(t, []network.Network{{ID: "a"}, {ID: "b"}}, nd.Networks)
	assert.Equal(t, hosts["n1"], nd.LocalIP)
	require.Len(t, nd.Remote, 1)
	assert.Equal(t, network.Endpoint{NetworkID: "a", PortID: "2", MAC: ports[1].MACAddress.HardwareAddr(),
		IPs: []netip.Addr{netip.MustParseAddr("10.0.0.2")}, VTEP: hosts["n2"]}, nd.Remote[0])
	assert.Equal(t, []Port{ports[0]}, pd.Ports)
	assert.Equal(t, []network.Network{{ID: "a"}}, pd.Networks)
	assert.Equal(t, []subnet.Subnet{subs[0]}, pd.Subnets)
}
