package secgroup

// group adds a security group's two chains, shared by all its ports: one
// rule per Neutron rule, accepting what it matches (after a rule logging
// it for the ports whose accepted flows are logged); what no rule matches
// returns to the port-ingress or port-egress chain, which drops it.
func (c *compiler) group(g *SecurityGroup) {
	for _, dir := range []string{Ingress, Egress} {
		ch := &chain{name: groupChain(g.ID, dir), kind: kindGroup, owner: g.ID, dir: dir}
		for i := range g.Rules {
			if r := &g.Rules[i]; r.Direction == dir {
				nr := c.rule(g, r)
				ch.rules = append(append(ch.rules, c.acceptLog(g, r, nr.matches)...), nr)
			}
		}
		ch.logHashes = c.logHashes(g, ch)
		c.rs.inet.addChain(ch)
	}
}

// rule compiles one Neutron rule. The remote side is the source for
// ingress and the destination for egress; a /0 prefix matches everything,
// as Neutron drops it; protocol 0 (and null, any) matches every protocol,
// as the iptables driver writes no -p; ports 1-65535 match every port; for
// ICMP port_range_min is the type and port_range_max the code.
func (c *compiler) rule(g *SecurityGroup, r *Rule) rule {
	v6 := r.Ethertype == IPv6
	remoteIsDst := r.Direction == Egress
	ms := []match{nfproto(v6)}
	switch {
	case r.RemoteIPPrefix.IsValid() && r.RemoteIPPrefix.Bits() > 0:
		ms = append(ms, addrPrefix(remoteIsDst, r.RemoteIPPrefix))
	case r.RemoteGroupID != "":
		ms = append(ms, addrIn(v6, remoteIsDst, c.memberSet(r.RemoteGroupID, v6, g.ID)))
	case r.RemoteAddressGroupID != "":
		ms = append(ms, addrIn(v6, remoteIsDst, c.addrGroupSet(r.RemoteAddressGroupID, v6, g.ID)))
	}
	num, any, _ := r.Protocol.Number(r.Ethertype)
	if !any && num != 0 {
		ms = append(ms, l4proto(num))
		lo, hi := r.PortRangeMin, r.PortRangeMax
		switch {
		case HasPorts(num) && lo != nil && hi != nil && !(*lo <= 1 && *hi >= 65535):
			ms = append(ms, portMatch(num, true, uint16(*lo), uint16(*hi)))
		case IsICMP(num) && lo != nil:
			ms = append(ms, icmpField(num == ProtoICMPv6, false, uint8(*lo)))
			if hi != nil {
				ms = append(ms, icmpField(num == ProtoICMPv6, true, uint8(*hi)))
			}
		}
	}
	return rule{matches: ms, stmts: []stmt{accept}, comment: "sg " + g.ID + " rule " + r.ID}
}

// memberSet returns the set of the addresses of remote group gid's members
// in one family, creating it on first use.
func (c *compiler) memberSet(gid string, v6 bool, user string) string {
	name := memberSet(gid, v6)
	c.useSet(name, user, func() *set {
		ps, typ := c.members[0][gid], typeIPv4
		if v6 {
			ps, typ = c.members[1][gid], typeIPv6
		}
		return &set{name: name, key: typ, interval: true, comment: "members of security group " + gid, elems: intervalElems(ps)}
	})
	return name
}

// addrGroupSet returns the interval set of address group id's addresses in
// one family, creating it on first use.
func (c *compiler) addrGroupSet(id string, v6 bool, user string) string {
	name := addrGroupSet(id, v6)
	c.useSet(name, user, func() *set {
		v4s, v6s := splitFamilies(c.agrp[id].Addresses)
		ps, typ := v4s, typeIPv4
		if v6 {
			ps, typ = v6s, typeIPv6
		}
		return &set{name: name, key: typ, interval: true, comment: "address group " + id, elems: intervalElems(ps)}
	})
	return name
}

func (c *compiler) useSet(name, user string, mk func() *set) {
	if _, ok := c.rs.inet.setx[name]; !ok {
		c.rs.inet.addSet(mk())
	}
	users := c.rs.setUsers[name]
	if len(users) == 0 || users[len(users)-1] != user {
		c.rs.setUsers[name] = append(users, user)
	}
}
