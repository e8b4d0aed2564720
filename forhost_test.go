package neutrino

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

func ids[T any](objs []T, id func(*T) string) []string {
	var out []string
	for i := range objs {
		out = append(out, id(&objs[i]))
	}
	return out
}

func portNames(t *Topology) []string {
	return ids(t.Ports, func(p *portT) string { return p.Name })
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s: got %v, want %v", what, g, w)
	}
}

func slice(t *testing.T, topo *Topology, host string) *Topology {
	t.Helper()
	s, err := topo.ForHost(host)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.ForHost(host)
	if err != nil || !reflect.DeepEqual(s, again) {
		t.Errorf("slicing the slice of %s changed it (%v)", host, err)
	}
	return s
}

func TestForHostTwoNodes(t *testing.T) {
	topo := load(t, "two-node-vxlan.json")
	all := []string{"2n-dhcp", "2n-vm1", "2n-vm2", "2n-vm3"}
	for host, local := range map[string][]string{"node1": {"2n-dhcp", "2n-vm1"}, "node2": {"2n-vm2", "2n-vm3"}} {
		s := slice(t, topo, host)
		x := s.Index()
		// Every port of the network is there for l2population; the node's own
		// are the ones bound to it.
		sameSet(t, host+" ports", portNames(s), all)
		sameSet(t, host+" local ports", names(x.PortsBoundTo(host)), local)
		if len(s.Networks) != 1 || len(s.Subnets) != 1 || len(s.SecurityGroups) != 1 || len(s.Hosts) != 2 {
			t.Errorf("%s: %d networks, %d subnets, %d groups, %d hosts", host, len(s.Networks), len(s.Subnets), len(s.SecurityGroups), len(s.Hosts))
		}
		if len(s.Routers)+len(s.FloatingIPs)+len(s.BGPSpeakers) != 0 {
			t.Errorf("%s: routers/FIPs/speakers in a router-less topology", host)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s slice: %v", host, err)
		}
	}
	// The DHCP server runs where its port is bound.
	x := topo.Index()
	if got := x.DHCPNetworksOn("node1"); len(got) != 1 || got[0].ID != topo.Networks[0].ID {
		t.Errorf("DHCP on node1: %v", got)
	}
	if got := x.DHCPNetworksOn("node2"); len(got) != 0 {
		t.Errorf("DHCP on node2: %v", got)
	}
}

// threeNodes spreads all-in-one over a network node (node1: router and
// DHCP), a compute node (node2: vm3) and a BGP node (node3: the speaker).
func threeNodes(t *testing.T) *Topology {
	topo := load(t, "all-in-one.json")
	topo.Ports[portVM3].HostID = "node2"
	topo.Hosts[0].BGPSpeakers = nil
	topo.Hosts = append(topo.Hosts,
		Host{Name: "node2", TunnelIP: addr("198.18.0.2")},
		Host{Name: "node3", TunnelIP: addr("198.18.0.3"), BGPSpeakers: []string{topo.BGPSpeakers[0].ID}})
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestForHostRouterHost(t *testing.T) {
	topo := threeNodes(t)
	s := slice(t, topo, "node1")
	x := s.Index()
	if len(s.Routers) != 1 || len(x.RoutersOn("node1")) != 1 || len(s.FloatingIPs) != 1 {
		t.Fatalf("router host: %d routers, %d FIPs", len(s.Routers), len(s.FloatingIPs))
	}
	// The router's networks, including the external one, are realized here,
	// with every port on them (vm3 on node2 as context).
	sameSet(t, "networks", names(x.NetworksOn("node1")), []string{"public", "tenant1", "tenant2"})
	sameSet(t, "ports", portNames(s), portNames(topo))
	sameSet(t, "DHCP", names(x.DHCPNetworksOn("node1")), []string{"tenant1", "tenant2"})
	if len(s.BGPSpeakers) != 0 {
		t.Errorf("node1 runs no speaker: %v", s.BGPSpeakers)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func TestForHostComputeHost(t *testing.T) {
	topo := threeNodes(t)
	s := slice(t, topo, "node2")
	x := s.Index()
	if len(s.Routers) != 0 || len(s.FloatingIPs) != 0 {
		t.Errorf("compute node got routers %d FIPs %d", len(s.Routers), len(s.FloatingIPs))
	}
	sameSet(t, "local", names(x.PortsBoundTo("node2")), []string{"vm3"})
	sameSet(t, "networks", ids(s.Networks, func(n *networkT) string { return n.Name }), []string{"tenant2"})
	sameSet(t, "subnets", ids(s.Subnets, func(n *subnetT) string { return n.Name }), []string{"tenant2-v4"})
	// tenant2's ports for l2population, and the default group's members
	// (vm1, vm2 on tenant1) for its remote-group set.
	sameSet(t, "ports", portNames(s), []string{"router1-if2", "dhcp-tenant2", "vm3", "vm1", "vm2"})
	sameSet(t, "groups", ids(s.SecurityGroups, func(g *secgroupT) string { return g.Name }), []string{"default", "ssh"})
	if len(s.AddressGroups) != 1 || len(s.SubnetPools) != 0 || len(s.Hosts) != 3 {
		t.Errorf("address groups %d, pools %d, hosts %d", len(s.AddressGroups), len(s.SubnetPools), len(s.Hosts))
	}
	if len(x.DHCPNetworksOn("node2")) != 0 || len(x.RoutersOn("node2")) != 0 {
		t.Error("compute node serves DHCP or routes")
	}
}

func TestForHostSpeakerHost(t *testing.T) {
	topo := threeNodes(t)
	s := slice(t, topo, "node3")
	x := s.Index()
	if len(s.BGPSpeakers) != 1 || len(s.BGPPeers) != 1 {
		t.Fatalf("speakers %d peers %d", len(s.BGPSpeakers), len(s.BGPPeers))
	}
	// Routes are computed from the routers behind the speaker's network,
	// wherever they run: context, not something to realize here.
	if len(s.Routers) != 1 || len(x.RoutersOn("node3")) != 0 || len(x.NetworksOn("node3")) != 0 {
		t.Errorf("routers %d, realized %d, L2 %d", len(s.Routers), len(x.RoutersOn("node3")), len(x.NetworksOn("node3")))
	}
	sameSet(t, "ports", portNames(s), []string{"router1-gw", "router1-if1", "router1-if2"})
	if len(s.FloatingIPs) != 1 || len(s.Subnets) != 3 || len(s.SubnetPools) != 2 || len(s.AddressScopes) != 1 {
		t.Errorf("FIPs %d subnets %d pools %d scopes %d", len(s.FloatingIPs), len(s.Subnets), len(s.SubnetPools), len(s.AddressScopes))
	}
}

func TestForHostErrors(t *testing.T) {
	topo := load(t, "all-in-one.json")
	if _, err := topo.ForHost(""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty name: %v", err)
	}
	if _, err := topo.ForHost("node9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown host: %v", err)
	}
	topo.Hosts = append(topo.Hosts, Host{Name: "idle"})
	s, err := topo.ForHost("idle")
	if err != nil || len(s.Ports)+len(s.Networks)+len(s.Routers) != 0 || len(s.Hosts) != 2 {
		t.Errorf("idle host: %+v %v", s, err)
	}
	// A host known only from bindings is fine.
	topo.Hosts = nil
	if _, err := topo.ForHost("node1"); err != nil {
		t.Error(err)
	}
}
