// Package port models Neutron ports and realizes instance attachment on a
// node: a veth pair whose instance end moves into the instance's namespace
// (binding:profile netns), or a tap device for a hypervisor, with the host end
// in the network's bridge, the port's MAC and the network's MTU.
//
// # What the realizer makes
//
// For each instance port (PlugsInstance: all but router, DHCP and floating
// IP ports) bound to the host, in the host namespace:
//
//   - with binding:profile netns: a veth pair made in one request. The host
//     end is tap<port-id[:11]>; the instance end is created directly in the
//     instance namespace, named binding:profile ifname (default eth0), with
//     the port's MAC and the network's MTU, and set up. With configure_ips
//     the port's fixed IPs (with their subnets' prefix lengths) and one
//     default route per IP version via the first subnet gateway are put on
//     it; routes carry rtm_protocol nl.RouteProtocol;
//   - without netns: a persistent single-queue tap device tap<port-id[:11]>
//     for a hypervisor to open;
//   - the host end has the network's MTU, IPv6 address generation off, is in
//     the network's bridge (which package network makes: realize networks
//     first), and is up unless admin_state_up is false.
//
// Apply repairs a wrong MTU, master, up/down state, instance-end MAC, MTU or
// name, missing configured addresses or routes, and re-creates a port whose
// instance end is gone or in another namespace, or whose device is of the
// wrong type.
//
// # Trunks
//
// A parent port's trunk_details sub-ports (device_owner trunk:subport, not
// plugged on their own) are VLAN sub-interfaces tap<sub-port-id[:11]> of the
// parent's host device, as with Neutron's Linux bridge trunk driver: VLAN
// ID segmentation_id (or, for "inherit", the sub-port network's), the
// sub-port's MAC, in the sub-port network's bridge. Their devices are named
// like any port's, so security groups and anti-spoofing apply to them as to
// any port. Kernels without 802.1Q (CONFIG_VLAN_8021Q) refuse the device;
// the plan is tested without root.
//
// # Ownership
//
// Host devices carry the alias neutrino:port:<port-id>; Apply deletes the
// ones no desired port needs (a veth's instance end goes with it). A device
// with a port's name but not its alias, or an instance-side name taken by a
// device that is not the port's, is an error wrapping ErrConflict, and the
// device is left alone. Instance namespaces are the instance's: they are
// opened by path and never created or deleted. With configure_ips the
// static global addresses of the instance end are the realizer's (others
// are removed); without it, addresses are never touched.
//
// # Cost
//
// An Apply reads the host with one link dump; each veth port costs one open
// of its instance namespace (shared by the ports of one instance) and one or
// two link lookups there, plus an address and a route dump with
// configure_ips.
package port
