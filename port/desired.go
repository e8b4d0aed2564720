package port

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/internal/naming"
	"github.com/neutrino-net/neutrino/namespace"
	"github.com/neutrino-net/neutrino/network"
	"github.com/neutrino-net/neutrino/subnet"
)

// DefaultIfName is the instance-side name of a veth port without
// binding:profile ifname.
const DefaultIfName = "eth0"

// OwnerKind is the alias kind of the host devices the port realizer owns.
const OwnerKind = "port"

// Owner names the port realizer in temporary device names (nl.TempName).
const Owner = "port"

// want is a validated Desired: what each plugged port needs.
type want struct {
	ports []portWant // sorted by port ID
	subs  []subWant  // trunk sub-ports, by parent then sub-port ID
}

type portWant struct {
	id, tap, alias  string
	bridge, brAlias string
	mtu             int
	up              bool
	netns           string // the instance namespace's path; "" for a tap
	ifname, mac     string
	configure       bool
	addrs           []netip.Prefix // fixed IPs with their subnets' prefix lengths
	gateways        []netip.Addr   // one default route per IP version
}

func (w portWant) veth() bool { return w.netns != "" }

func (d *Desired) validate() (*want, error) {
	var errs []error
	nets := map[string]network.Network{}
	for i, n := range d.Networks {
		path := errdefs.Index("networks", i)
		switch err := n.Validate(); {
		case err != nil:
			errs = append(errs, errdefs.Prefix(path, err))
		case n.MTU == 0:
			errs = append(errs, errdefs.Invalid(path+".mtu", "not set: the realizer gives every device the network's MTU (network.Defaults fills Neutron's)"))
		case nets[n.ID].ID != "":
			errs = append(errs, errdefs.Conflict(path+".id", "network %s is listed twice", n.ID))
		default:
			nets[n.ID] = n
		}
	}
	subs := map[string]subnet.Subnet{}
	for i, s := range d.Subnets {
		path := errdefs.Index("subnets", i)
		switch err := s.Validate(); {
		case err != nil:
			errs = append(errs, errdefs.Prefix(path, err))
		case subs[s.ID].ID != "":
			errs = append(errs, errdefs.Conflict(path+".id", "subnet %s is listed twice", s.ID))
		default:
			subs[s.ID] = s
		}
	}
	w := &want{}
	ids, taps, ends := map[string]int{}, map[string]int{}, map[string]int{}
	subPorts := map[string]Port{}
	for _, p := range d.Ports {
		if p.DeviceOwner == OwnerTrunkSubport {
			subPorts[p.ID] = p
		}
	}
	for i, p := range d.Ports {
		if !p.PlugsInstance() || p.DeviceOwner == OwnerTrunkSubport {
			continue
		}
		path := errdefs.Index("ports", i)
		if err := p.Validate(); err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		pw, err := portNeeds(p, nets, subs)
		if err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		if j, dup := ids[p.ID]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "port %s repeats ports[%d]", p.ID, j))
			continue
		}
		ids[p.ID] = i
		if j, dup := taps[pw.tap]; dup {
			errs = append(errs, errdefs.Conflict(path+".id", "port %s and ports[%d] share the device name %s (the first 11 characters of their IDs)", p.ID, j, pw.tap))
			continue
		}
		taps[pw.tap] = i
		if pw.veth() {
			end := pw.netns + " " + pw.ifname
			if j, dup := ends[end]; dup {
				errs = append(errs, errdefs.Conflict(path+".binding:profile.ifname", "%s in %s is ports[%d]'s too", pw.ifname, pw.netns, j))
				continue
			}
			ends[end] = i
		}
		subs, err := subNeeds(p, pw, subPorts, nets)
		if err != nil {
			errs = append(errs, errdefs.Prefix(path, err))
			continue
		}
		for _, s := range subs {
			if j, dup := taps[s.dev]; dup {
				errs = append(errs, errdefs.Conflict(path+".trunk_details.sub_ports", "sub-port %s and ports[%d] share the device name %s", s.id, j, s.dev))
				continue
			}
			taps[s.dev] = i
			w.subs = append(w.subs, s)
		}
		w.ports = append(w.ports, pw)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(w.ports, func(a, b portWant) int { return strings.Compare(a.id, b.id) })
	return w, nil
}

// portNeeds derives what a valid port needs, with paths relative to it.
func portNeeds(p Port, nets map[string]network.Network, subs map[string]subnet.Subnet) (portWant, error) {
	n, ok := nets[p.NetworkID]
	if !ok {
		return portWant{}, errdefs.NotFound("network_id", "network %s is not among the desired networks", p.NetworkID)
	}
	pw := portWant{
		id: p.ID, tap: naming.Tap(p.ID), alias: naming.OwnerAlias(OwnerKind, p.ID),
		bridge: naming.Bridge(n.ID), brAlias: naming.OwnerAlias(network.KindBridge, n.ID),
		mtu: n.MTU, up: p.Up(), mac: p.MACAddress.String(),
	}
	if p.Profile.NetNS == "" {
		return pw, nil
	}
	pw.netns, pw.ifname = p.Profile.NetNS, p.Profile.IfName
	if !strings.Contains(pw.netns, "/") {
		pw.netns = namespace.RunDir + "/" + pw.netns
	}
	if pw.ifname == "" {
		pw.ifname = DefaultIfName
	}
	if !p.Profile.ConfigureIPs {
		return pw, nil
	}
	pw.configure = true
	var errs []error
	gw := map[bool]bool{} // IP version (Is4) -> default route chosen
	for j, f := range p.FixedIPs {
		path := errdefs.Index("fixed_ips", j)
		s, ok := subs[f.SubnetID]
		var sp *subnet.Subnet
		if ok {
			sp = &s
		}
		if err := CheckFixedIP(path, &p, f, sp); err != nil {
			errs = append(errs, err)
			continue
		}
		ip := f.IPAddress.Unmap() // as the kernel reports it
		pw.addrs = append(pw.addrs, netip.PrefixFrom(ip, s.CIDR.Bits()))
		if v4 := ip.Is4(); s.HasGateway() && s.GatewayIP.Unmap() != ip && !gw[v4] {
			gw[v4] = true
			pw.gateways = append(pw.gateways, s.GatewayIP.Unmap())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return pw, err
	}
	return pw, nil
}

func (w portWant) describe() string {
	if !w.veth() {
		return fmt.Sprintf("%s (tap, bridge %s)", w.tap, w.bridge)
	}
	s := fmt.Sprintf("%s (veth %s in %s, bridge %s", w.tap, w.ifname, w.netns, w.bridge)
	for _, a := range w.addrs {
		s += ", " + a.String()
	}
	return s + ")"
}
