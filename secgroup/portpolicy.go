package secgroup

import (
	"net"
	"net/netip"

	"github.com/neutrino-net/neutrino/port"
)

// port adds a filtered port: its number in the port-marks map, its
// one-rule bridge chain that puts its number in the mark on the way out,
// its entries in the anti-spoofing sets, and its entries in the inet verdict maps (to its groups' chains)
// and, for stateless groups, in the stateless set.
func (c *compiler) port(p *port.Port, tap string, n uint32, gids []string) {
	b, in := c.rs.bridge, c.rs.inet
	mark := c.cfg.markOf(n)
	comment := "port " + p.ID
	b.addChain(&chain{name: toChain(tap), kind: kindPort, owner: p.ID, rules: []rule{
		{stmts: []stmt{markSet(c.cfg.mask, mark)}, comment: comment},
	}})
	b.setx[mapPortMarks].elems = append(b.setx[mapPortMarks].elems, elem{key: ifnameBytes(tap), data: be32(mark), comment: comment})
	b.setx[mapPortsOut].elems = append(b.setx[mapPortsOut].elems, elem{key: ifnameBytes(tap), verdict: "goto " + toChain(tap)})
	c.antispoof(p, tap)

	if len(gids) > 0 {
		for _, dir := range []string{Egress, Ingress} {
			target := groupChain(gids[0], dir)
			if len(gids) > 1 {
				target = c.combo(gids, dir)
			}
			name := mapEgress
			if dir == Ingress {
				name = mapIngress
			}
			in.setx[name].elems = append(in.setx[name].elems, elem{key: markBytes(mark), verdict: "jump " + target, comment: comment})
		}
		if !c.grp[gids[0]].IsStateful() {
			in.setx[setStateless].elems = append(in.setx[setStateless].elems, elem{key: markBytes(mark), comment: comment})
		}
	}
}

// combo returns the chain that tries each of several groups in turn,
// shared by every port with that list of groups.
func (c *compiler) combo(gids []string, dir string) string {
	name := comboChain(gids, dir)
	if _, ok := c.rs.inet.chainx[name]; ok {
		return name
	}
	ch := &chain{name: name, kind: kindGroup}
	for _, g := range gids {
		ch.rules = append(ch.rules, rule{stmts: []stmt{verdict(stmtJump, groupChain(g, dir))}, comment: "security group " + g})
	}
	c.rs.inet.addChain(ch)
	return name
}

// antispoof adds the port's allowed source MACs and (MAC, address) pairs:
// fixed IPs with the port's MAC, allowed address pairs (addresses or CIDRs)
// with their MAC or the port's, and the IPv6 link-local address of each
// MAC. A port without fixed IPs may send from any address of its MACs, as
// in Neutron.
func (c *compiler) antispoof(p *port.Port, tap string) {
	b := c.rs.bridge
	type macAddrs struct {
		mac    net.HardwareAddr
		v4, v6 []netip.Prefix
	}
	var order []string
	byMAC := map[string]*macAddrs{}
	add := func(mac net.HardwareAddr, pfx netip.Prefix) {
		k := mac.String()
		m, ok := byMAC[k]
		if !ok {
			m = &macAddrs{mac: mac}
			byMAC[k] = m
			order = append(order, k)
			lla := linkLocal(mac)
			m.v6 = append(m.v6, netip.PrefixFrom(lla, 128))
		}
		if !pfx.IsValid() {
			return
		}
		if pfx.Addr().Is4() {
			m.v4 = append(m.v4, pfx)
		} else {
			m.v6 = append(m.v6, pfx)
		}
	}
	pmac := p.MACAddress.HardwareAddr()
	add(pmac, netip.Prefix{})
	for _, ip := range p.FixedIPs {
		if ip.IPAddress.IsValid() {
			a := ip.IPAddress.Unmap()
			add(pmac, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if len(p.FixedIPs) == 0 {
		add(pmac, netip.MustParsePrefix("0.0.0.0/0"))
		add(pmac, netip.MustParsePrefix("::/0"))
	}
	for _, pair := range p.AllowedAddressPairs {
		mac := pmac
		if len(pair.MACAddress) == 6 {
			mac = pair.MACAddress.HardwareAddr()
		}
		add(mac, pair.IPAddress.Masked())
	}
	for _, k := range order {
		m := byMAC[k]
		prefix := append(ifnameBytes(tap), macBytes(m.mac)...)
		b.setx[setMACs].elems = append(b.setx[setMACs].elems, elem{key: prefix})
		for _, x := range []struct {
			set string
			ps  []netip.Prefix
		}{{setPairs4, m.v4}, {setPairs6, m.v6}} {
			for _, iv := range intervalElems(x.ps) {
				last := lastOf(iv)
				b.setx[x.set].elems = append(b.setx[x.set].elems, elem{
					key: concat(prefix, iv.key),
					end: concat(prefix, last),
				})
			}
		}
	}
}

// lastOf is the last address of an interval element.
func lastOf(e elem) []byte {
	if e.open {
		a, _ := netip.AddrFromSlice(e.key)
		if a.Is4() {
			return []byte{255, 255, 255, 255}
		}
		b := make([]byte, 16)
		for i := range b {
			b[i] = 0xff
		}
		return b
	}
	a, _ := netip.AddrFromSlice(e.end)
	return a.Prev().AsSlice()
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// linkLocal is the EUI-64 IPv6 link-local address of mac (RFC 4291).
func linkLocal(mac net.HardwareAddr) netip.Addr {
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	a[8] = mac[0] ^ 0x02
	a[9], a[10] = mac[1], mac[2]
	a[11], a[12] = 0xff, 0xfe
	a[13], a[14], a[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(a)
}
