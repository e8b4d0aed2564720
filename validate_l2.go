package neutrino

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/port"
	"github.com/neutrino-net/neutrino/subnet"
)

// networks checks segments for collisions, device names, and the IPv6 MTU
// floor.
func (v *validator) networks() {
	type segment struct {
		kind, physnet string
		id            int
	}
	segments := map[segment]int{}
	bridges := map[string]int{}
	for i := range v.t.Networks {
		n := &v.t.Networks[i]
		o := obj{"networks", i, "network", n.ID}
		var seg segment
		switch n.NetworkType {
		case network.TypeVXLAN:
			seg = segment{network.TypeVXLAN, "", n.SegmentationID}
		case network.TypeVLAN:
			seg = segment{network.TypeVLAN, n.PhysicalNetwork, n.SegmentationID}
		case network.TypeFlat:
			seg = segment{network.TypeFlat, n.PhysicalNetwork, 0}
		}
		if seg.kind != "" && (seg.id != 0 || seg.physnet != "") {
			if j, dup := segments[seg]; dup {
				field := "provider:segmentation_id"
				if seg.kind == network.TypeFlat {
					field = "provider:physical_network"
				}
				v.report(o, errdefs.Conflict(field, "the %s segment is also networks[%d]'s (%s)", n.NetworkType, j, v.t.Networks[j].ID))
			} else {
				segments[seg] = i
			}
		}
		if n.ID != "" && v.x.Network(n.ID) == n {
			v.deviceName(bridges, o, "bridge", naming.Bridge(n.ID), func(j int) string { return v.t.Networks[j].ID })
		}
		if n.MTU != 0 && n.MTU < network.MinIPv6MTU {
			for _, s := range v.x.SubnetsOf(n.ID) {
				if s.CIDR.IsValid() && s.CIDR.Addr().Is6() {
					v.report(o, errdefs.Invalid("mtu", "%d is below %d, the IPv6 minimum, and subnet %s is IPv6", n.MTU, network.MinIPv6MTU, s.ID))
					break
				}
			}
		}
	}
}

// subnets checks networks, overlaps within a network and within a subnet
// pool, and subnet pool membership.
func (v *validator) subnets() {
	byNetwork := map[string][]int{}
	byPool := map[string][]int{}
	for i := range v.t.Subnets {
		s := &v.t.Subnets[i]
		o := obj{"subnets", i, "subnet", s.ID}
		if s.NetworkID != "" && v.x.Network(s.NetworkID) == nil {
			v.report(o, errdefs.NotFound("network_id", "network %s does not exist", s.NetworkID))
		}
		if !canonical(s.CIDR) {
			continue // the subnet's own Validate reports it
		}
		byNetwork[s.NetworkID] = append(byNetwork[s.NetworkID], i)
		if s.SubnetPoolID == "" {
			continue
		}
		pool := v.x.SubnetPool(s.SubnetPoolID)
		if pool == nil {
			v.report(o, errdefs.NotFound("subnetpool_id", "subnet pool %s does not exist", s.SubnetPoolID))
			continue
		}
		byPool[s.SubnetPoolID] = append(byPool[s.SubnetPoolID], i)
		if pool.Validate() == nil {
			v.report(o, pool.CarveSpecific(nil, s.CIDR))
		}
	}
	for _, id := range sortedKeys(byNetwork) {
		v.overlaps(byNetwork[id], "network "+id)
		v.poolAffinity(byNetwork[id])
	}
	for _, id := range sortedKeys(byPool) {
		v.overlaps(byPool[id], "subnet pool "+id)
	}
}

// overlaps reports subnets (indexes into t.Subnets, canonical CIDRs) that
// overlap an earlier one. Sorted by first address, CIDRs either nest or are
// apart, so a CIDR overlaps an earlier one exactly when it starts inside the
// one reaching furthest so far.
func (v *validator) overlaps(idx []int, within string) {
	s := v.t.Subnets
	idx = slices.Clone(idx)
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(s[a].CIDR.Addr().Compare(s[b].CIDR.Addr()), cmp.Compare(s[a].CIDR.Bits(), s[b].CIDR.Bits()))
	})
	cover := -1
	for _, i := range idx {
		if cover >= 0 && s[cover].CIDR.Contains(s[i].CIDR.Addr()) {
			v.report(obj{"subnets", i, "subnet", s[i].ID}, errdefs.Conflict("cidr", "%s overlaps subnets[%d] %s (%s) in %s", s[i].CIDR, cover, s[cover].CIDR, s[cover].ID, within))
			continue
		}
		cover = i
	}
}

// poolAffinity reports subnets of one network and family that come from
// different subnet pools or address scopes (Neutron's
// _validate_network_subnetpools): one network routes in one scope.
func (v *validator) poolAffinity(idx []int) {
	first := map[bool]int{}
	for _, i := range idx {
		s := &v.t.Subnets[i]
		is4 := s.CIDR.Addr().Is4()
		j, seen := first[is4]
		if !seen {
			first[is4] = i
			continue
		}
		if a, b := v.affinity(s), v.affinity(&v.t.Subnets[j]); a != b {
			v.report(obj{"subnets", i, "subnet", s.ID}, errdefs.Conflict("subnetpool_id", "%s, but subnets[%d] (%s) of the same network and family is %s", a, j, v.t.Subnets[j].ID, b))
		}
	}
}

func (v *validator) affinity(s *subnet.Subnet) string {
	pool := v.x.SubnetPool(s.SubnetPoolID)
	switch {
	case s.SubnetPoolID == "":
		return "from no subnet pool"
	case pool != nil && pool.AddressScopeID != "":
		return "in address scope " + pool.AddressScopeID
	}
	return "from subnet pool " + s.SubnetPoolID
}

// ports checks each port's references and what ports share: fixed IPs per
// subnet, MACs per network, device names.
func (v *validator) ports() {
	type use struct {
		subnet string
		addr   netip.Addr
	}
	type mac struct{ network, mac string }
	addrs := map[use]int{}
	macs := map[mac]int{}
	devices := map[string]int{}
	for i := range v.t.Ports {
		p := &v.t.Ports[i]
		o := obj{"ports", i, "port", p.ID}
		net := v.x.Network(p.NetworkID)
		if p.NetworkID != "" && net == nil {
			v.report(o, errdefs.NotFound("network_id", "network %s does not exist", p.NetworkID))
		}
		for j, f := range p.FixedIPs {
			if v.fixedIP(o, p, j, f) {
				k := use{f.SubnetID, f.IPAddress}
				if other, dup := addrs[k]; dup {
					v.report(o, errdefs.Conflict(errdefs.Index("fixed_ips", j)+".ip_address", "%s is also a fixed IP of ports[%d] (%s)", f.IPAddress, other, v.t.Ports[other].ID))
				} else {
					addrs[k] = i
				}
			}
		}
		if len(p.MACAddress) != 0 && p.NetworkID != "" {
			k := mac{p.NetworkID, p.MACAddress.String()}
			if other, dup := macs[k]; dup {
				v.report(o, errdefs.Conflict("mac_address", "%s is also the MAC of ports[%d] (%s) on network %s", p.MACAddress, other, v.t.Ports[other].ID, p.NetworkID))
			} else {
				macs[k] = i
			}
		}
		if p.ID != "" && v.x.Port(p.ID) == p {
			v.deviceName(devices, o, "device", naming.Tap(p.ID), func(j int) string { return v.t.Ports[j].ID })
		}
		if p.HostID != "" && len(v.t.Hosts) > 0 && v.x.Host(p.HostID) == nil {
			v.report(o, errdefs.NotFound("binding:host_id", "host %s is not in hosts", p.HostID))
		}
		if p.IsRouterPort() && p.DeviceID != "" && v.x.Router(p.DeviceID) == nil {
			v.report(o, errdefs.NotFound("device_id", "router %s does not exist (device_owner %s)", p.DeviceID, p.DeviceOwner))
		}
		v.portGroups(o, p)
	}
}

// deviceName reports o when an earlier object of its collection has the
// same device name: Neutron's names keep 11 characters of the ID, so IDs
// that share them would share a bridge, tap, qr-, qg- or ns- device.
func (v *validator) deviceName(seen map[string]int, o obj, kind, name string, idOf func(int) string) {
	if j, dup := seen[name]; dup {
		v.report(o, errdefs.Conflict("id", "its %s name %s is also %s[%d]'s (%s): IDs must differ in their first 11 characters", kind, name, o.coll, j, idOf(j)))
		return
	}
	seen[name] = o.i
}

// fixedIP checks one fixed IP against its subnet and reports whether it is
// good enough to take part in the uniqueness check.
func (v *validator) fixedIP(o obj, p *port.Port, j int, f port.FixedIP) bool {
	path := errdefs.Index("fixed_ips", j)
	if f.Validate() != nil {
		return false // the port's own Validate reports it
	}
	s := v.x.Subnet(f.SubnetID)
	switch {
	case s == nil:
		v.report(o, errdefs.NotFound(path+".subnet_id", "subnet %s does not exist", f.SubnetID))
		return false
	case s.NetworkID != p.NetworkID:
		v.report(o, errdefs.Invalid(path+".subnet_id", "subnet %s is on network %s, not on the port's network %s", s.ID, s.NetworkID, p.NetworkID))
		return false
	case !s.CIDR.Contains(f.IPAddress):
		v.report(o, errdefs.Invalid(path+".ip_address", "%s is outside subnet %s %s", f.IPAddress, s.ID, s.CIDR))
		return false
	}
	if r := ipam.UsableRange(s.CIDR); canonical(s.CIDR) && !r.Contains(f.IPAddress) {
		v.report(o, errdefs.Invalid(path+".ip_address", "%s is not a usable address of subnet %s %s (network or broadcast address)", f.IPAddress, s.ID, s.CIDR))
		return false
	}
	if s.GatewayIP == f.IPAddress && p.DeviceOwner != port.OwnerRouterInterface {
		v.report(o, errdefs.Conflict(path+".ip_address", "%s is the gateway of subnet %s; only a router interface may take it", f.IPAddress, s.ID))
		return false
	}
	if s.AutoAddress() && p.DeviceOwner != port.OwnerRouterInterface && len(p.MACAddress) == 6 {
		if want, err := ipam.SLAAC(s.CIDR, p.MACAddress.HardwareAddr()); err == nil && want != f.IPAddress {
			v.report(o, errdefs.Invalid(path+".ip_address", "%s: subnet %s has automatic addresses (slaac or dhcpv6-stateless), so the port's address is its EUI-64 address %s", f.IPAddress, s.ID, want))
			return false
		}
	}
	return true
}

// canonical reports whether p is a valid CIDR without host bits.
func canonical(p netip.Prefix) bool { return p.IsValid() && p.Masked() == p }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
