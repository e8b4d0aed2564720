package dhcp

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/report"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// Desired is the DHCP state the realizer makes of one node. Give it the
// node's slice of the topology (Topology.ForHost): every network whose
// network:dhcp port is bound to this host, with all its subnets and all its
// ports. Other objects are ignored.
type Desired struct {
	Networks []network.Network
	Subnets  []subnet.Subnet
	Ports    []port.Port
}

// selection is a validated Desired: one Config per network served here.
type selection struct {
	configs map[string]*Config // by network ID
	// failed networks had errors: the realizer leaves what runs for them
	// alone, neither updated nor torn down.
	failed map[string]bool
	// keepPorts are DHCP ports whose devices must not be garbage-collected:
	// those of desired and of failed networks.
	keepPorts map[string]bool
}

func (s *selection) networkIDs() []string {
	ids := make([]string, 0, len(s.configs))
	for id := range s.configs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// selectNetworks picks the networks served on host (every DHCP port's when
// host is ""), builds their Configs, and reports per-network errors. A
// network whose admin state is down, or that has no DHCP-enabled subnet, is
// not served (Neutron's agent disables DHCP for it).
func selectNetworks(d *Desired, host string, s Settings) (*selection, error) {
	sel := &selection{configs: map[string]*Config{}, failed: map[string]bool{}, keepPorts: map[string]bool{}}
	nets := map[string]*network.Network{}
	for i := range d.Networks {
		nets[d.Networks[i].ID] = &d.Networks[i]
	}
	dhcpPorts := map[string][]string{}
	portsOf := map[string][]port.Port{}
	for _, p := range d.Ports {
		portsOf[p.NetworkID] = append(portsOf[p.NetworkID], p)
		if p.ServesDHCPOn(host) {
			dhcpPorts[p.NetworkID] = append(dhcpPorts[p.NetworkID], p.ID)
		}
	}
	subnetsOf := map[string][]subnet.Subnet{}
	for _, sn := range d.Subnets {
		subnetsOf[sn.NetworkID] = append(subnetsOf[sn.NetworkID], sn)
	}
	ids := make([]string, 0, len(dhcpPorts))
	for id := range dhcpPorts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		pids := dhcpPorts[id]
		for _, pid := range pids {
			sel.keepPorts[pid] = true
		}
		path := fmt.Sprintf("networks[%s]", id)
		n, ok := nets[id]
		switch {
		case !ok:
			errs = append(errs, errdefs.NotFound(path, "network of DHCP port %s is not in the desired state", pids[0]))
			sel.failed[id] = true
			continue
		case len(pids) > 1:
			errs = append(errs, errdefs.Conflict(path, "DHCP ports %v are all bound to this host; one network has one DHCP port per host", pids))
			sel.failed[id] = true
			continue
		case !n.Up():
			continue
		}
		cfg, err := BuildConfig(Input{Network: *n, Subnets: subnetsOf[id], Ports: portsOf[id], DHCPPortID: pids[0]}, s)
		if err != nil {
			errs = append(errs, err)
			sel.failed[id] = true
			continue
		}
		if cfg.HasV4() || cfg.HasV6() {
			sel.configs[id] = cfg
		}
	}
	return sel, errors.Join(errs...)
}

// diffReservations records in rep what changed between two Configs of one
// network (nil: none): reservations (one per port) and subnets' options.
// It returns the number of changes.
func diffReservations(rep *Report, networkID string, old, cur *Config) int {
	var oldPorts, oldSubnets, curPorts, curSubnets map[string]string
	if old != nil {
		oldPorts, oldSubnets = old.ports, old.subnets
	}
	if cur != nil {
		curPorts, curSubnets = cur.ports, cur.subnets
	}
	return diffPrints(rep, "reservation", networkID, oldPorts, curPorts) +
		diffPrints(rep, "subnet", networkID, oldSubnets, curSubnets)
}

func diffPrints(rep *Report, kind, networkID string, old, cur map[string]string) int {
	n := 0
	for _, id := range slices.Sorted(maps.Keys(cur)) {
		prev, had := old[id]
		switch {
		case !had:
			report.Addf(rep, report.Create, kind, "%s on network %s", id, networkID)
		case prev != cur[id]:
			report.Addf(rep, report.Update, kind, "%s on network %s", id, networkID)
		default:
			continue
		}
		n++
	}
	for _, id := range slices.Sorted(maps.Keys(old)) {
		if _, keep := cur[id]; !keep {
			report.Addf(rep, report.Delete, kind, "%s on network %s", id, networkID)
			n++
		}
	}
	return n
}
