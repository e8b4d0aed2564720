package port

// ServesDHCPOn reports whether p is a network's DHCP port bound to host:
// the rule, as Neutron schedules it, by which a network's DHCP server runs
// on that host. An empty host matches every DHCP port (a node that serves
// whatever DHCP ports it is given).
func (p *Port) ServesDHCPOn(host string) bool {
	return p.DeviceOwner == OwnerDHCP && (host == "" || p.HostID == host)
}
