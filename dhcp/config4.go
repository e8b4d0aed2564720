package dhcp

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/port"
)

type table4 struct {
	subnets []*subnet4
	hosts   map[macKey]*host4
}

type subnet4 struct {
	id     string
	prefix netip.Prefix
	server netip.Addr
	opts   dhcpv4.Options
	routes []byte // the 121 payload, repeated as 249 for clients asking for it
}

type host4 struct {
	portID string
	leases []*lease4 // in fixed_ips order: the first is a non-relayed client's
}

type lease4 struct {
	ip    netip.Addr
	sn    *subnet4
	plain variant4
	ipxe  *variant4 // what iPXE clients get when tagged options differ; nil: plain
}

type variant4 struct {
	opts   dhcpv4.Options
	siaddr netip.Addr
	lease  []byte // opts encoded once, for OFFER and ACK
	inform []byte // the same without lease times, for INFORM
}

// seal encodes the options once, so that answering copies bytes instead of
// building and marshalling a map per packet.
func (v *variant4) seal() {
	v.lease = encodeOptions4(v.opts, keepAll)
	v.inform = encodeOptions4(v.opts, noLeaseTimes)
}

func (b *builder) table4(clients []client, server map[string]netip.Addr, isolated map[string]bool, c *Config) *table4 {
	t := &table4{hosts: map[macKey]*host4{}}
	byID := map[string]*subnet4{}
	for i := range b.subnets {
		sn := &b.subnets[i]
		if sn.IPVersion != 4 || !sn.CIDR.Addr().Is4() || !sn.DHCPEnabled() {
			continue
		}
		srv, ok := server[sn.ID]
		if !ok {
			b.fail(errdefs.Invalid(portPath(b.in.DHCPPortID)+".fixed_ips",
				"the DHCP port has no address on DHCP-enabled subnet %s", sn.ID))
			continue
		}
		opts, routes := subnetOptions4(sn, b.subnets, isolated[sn.ID], srv, b.in.Network.MTU, b.domain(sn), b.s)
		s4 := &subnet4{id: sn.ID, prefix: sn.CIDR.Masked(), server: srv, opts: opts, routes: routes}
		t.subnets = append(t.subnets, s4)
		byID[sn.ID] = s4
		c.subnets[sn.ID] = printOptions(opts)
	}
	if len(t.subnets) == 0 {
		return t
	}
	for _, cl := range clients {
		p := cl.p
		var h *host4
		for i, f := range p.FixedIPs {
			s4, ok := byID[f.SubnetID]
			if !ok {
				continue
			}
			if !s4.prefix.Contains(f.IPAddress) {
				b.fail(errdefs.Invalid(fmt.Sprintf("%s.fixed_ips[%d]", portPath(p.ID), i), "%s is not in subnet %s (%s)", f.IPAddress, s4.id, s4.prefix))
				continue
			}
			if h == nil {
				h = &host4{portID: p.ID}
				t.hosts[cl.key] = h
			}
			h.leases = append(h.leases, newLease4(p, f.IPAddress, s4, cl.extras))
		}
		if h != nil {
			c.ports[p.ID] = portPrint(p, cl.extras)
		}
	}
	return t
}

func newLease4(p *port.Port, ip netip.Addr, sn *subnet4, extras []extraOpt) *lease4 {
	l := &lease4{ip: ip, sn: sn}
	base := make(dhcpv4.Options, len(sn.opts)+2)
	for k, v := range sn.opts {
		base[k] = v
	}
	base[opt4Hostname] = []byte(hostname(p, ip))
	l.plain = variant4{opts: base}
	tagged := false
	for _, e := range extras {
		tagged = tagged || (!e.v6 && e.tag != tagNone)
	}
	if tagged {
		ipxe := variant4{opts: make(dhcpv4.Options, len(base))}
		for k, v := range base {
			ipxe.opts[k] = v
		}
		applyExtras4(&ipxe, extras, tagIPXE, sn.server)
		ipxe.seal()
		l.ipxe = &ipxe
	}
	applyExtras4(&l.plain, extras, tagNotIPXE, sn.server)
	l.plain.seal()
	return l
}

// applyExtras4 applies the untagged extra options and those tagged for this
// kind of client (tag is tagIPXE or tagNotIPXE).
func applyExtras4(v *variant4, extras []extraOpt, tag string, self netip.Addr) {
	for _, e := range extras {
		if e.v6 || (e.tag != tagNone && e.tag != tag) {
			continue
		}
		if e.kind == kindNextServer {
			v.siaddr = netip.Addr{}
			if !e.remove {
				b, _ := e.encode(self) // validated by parseExtraOpts
				if len(b) >= 4 {
					v.siaddr = netip.AddrFrom4([4]byte(b[:4]))
				}
			}
			continue
		}
		code := uint8(e.code)
		if e.remove {
			delete(v.opts, code)
			continue
		}
		b, _ := e.encode(self)
		v.opts[code] = b
	}
}

// printOptions is a stable text form of an option set, to tell whether a
// subnet's options changed.
func printOptions(o dhcpv4.Options) string {
	keys := make([]int, 0, len(o))
	for k := range o {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	var sb strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&sb, "%d=%x;", k, o[uint8(k)])
	}
	return sb.String()
}

// portPrint is a stable text form of what a port's reservations depend on.
func portPrint(p *port.Port, extras []extraOpt) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s|%s|", p.MACAddress, p.DNSName)
	for _, f := range p.FixedIPs {
		fmt.Fprintf(&sb, "%s@%s,", f.IPAddress, f.SubnetID)
	}
	for _, e := range extras {
		fmt.Fprintf(&sb, "|%v", e)
	}
	return sb.String()
}
