package dhcp

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

func TestSelectNetworksKeepsGoodNetworksBesideBadOnes(t *testing.T) {
	good := testInput()
	bad := Input{
		Network: network.Network{ID: "bad00000-0000-4000-8000-000000000000"},
		Subnets: []subnet.Subnet{{ID: "bs", NetworkID: "bad00000-0000-4000-8000-000000000000", IPVersion: 4, CIDR: pfx("100.64.20.0/24")}},
		Ports: []port.Port{
			{ID: "bd", NetworkID: "bad00000-0000-4000-8000-000000000000", MACAddress: port.MustParseMAC("fa:16:3e:00:20:d1"), DeviceOwner: port.OwnerDHCP, HostID: "node1",
				FixedIPs: []port.FixedIP{{SubnetID: "bs", IPAddress: addr("100.64.20.2")}}},
			{ID: "bv", NetworkID: "bad00000-0000-4000-8000-000000000000", MACAddress: port.MustParseMAC("fa:16:3e:00:20:01"), DeviceOwner: "compute:nova",
				FixedIPs:      []port.FixedIP{{SubnetID: "bs", IPAddress: addr("100.64.20.10")}},
				ExtraDHCPOpts: []port.ExtraDHCPOpt{{OptName: "frobnicate", OptValue: "1"}}},
		},
	}
	down := false
	idle := Input{Network: network.Network{ID: "down0000-0000-4000-8000-000000000000", AdminStateUp: &down},
		Ports: []port.Port{{ID: "dd", NetworkID: "down0000-0000-4000-8000-000000000000", DeviceOwner: port.OwnerDHCP, HostID: "node1"}}}
	for i := range good.Ports {
		good.Ports[i].HostID = "node1"
	}
	elsewhere := port.Port{ID: "ee", NetworkID: "else0000-0000-4000-8000-000000000000", DeviceOwner: port.OwnerDHCP, HostID: "node2"}
	d := Desired{
		Networks: []network.Network{good.Network, bad.Network, idle.Network},
		Subnets:  append(append([]subnet.Subnet{}, good.Subnets...), bad.Subnets...),
		Ports:    append(append(append(append([]port.Port{}, good.Ports...), bad.Ports...), idle.Ports...), elsewhere),
	}
	sel, err := selectNetworks(&d, "node1", Settings{})
	if !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), "frobnicate") || !strings.Contains(err.Error(), "ports[bv]") {
		t.Errorf("err %v", err)
	}
	if len(sel.configs) != 1 || sel.configs[netID] == nil {
		t.Errorf("served %v", sel.networkIDs())
	}
	if !sel.failed[bad.Network.ID] || sel.failed[idle.Network.ID] || !sel.keepPorts["bd"] || sel.keepPorts["ee"] {
		t.Errorf("failed %v keep %v", sel.failed, sel.keepPorts)
	}
}

// TestUpdateUnderLoad swaps Configs while readers answer: every packet is
// answered from one whole Config or the other (run with -race).
func TestUpdateUnderLoad(t *testing.T) {
	in := testInput()
	a := mustConfig(t, in, Settings{})
	in.Ports[3].FixedIPs[0].IPAddress = addr("100.64.10.21")
	b := mustConfig(t, in, Settings{})
	s := &Server{log: quiet}
	s.cfg.Store(a)
	var wg sync.WaitGroup
	var answered atomic.Int64
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req := discover(t, vm2MAC)
				r := s.Config().handle4(req, quiet)
				if r == nil {
					t.Error("no answer during an update")
					return
				}
				if ip := roundTrip(t, req, r).YourIPAddr.String(); ip != "100.64.10.11" && ip != "100.64.10.21" {
					t.Errorf("offered %s", ip)
				}
				answered.Add(1)
			}
		}()
	}
	for i := 0; answered.Load() < 2000; i++ {
		if err := s.Update([]*Config{a, b}[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
