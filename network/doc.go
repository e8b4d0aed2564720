// Package network models Neutron networks and realizes their L2 on a node:
// a Linux bridge per network with ports on the node, VXLAN segments with
// l2population (static FDB and neighbour entries from port bindings), flat
// segments on a mapped physical interface and VLAN sub-interfaces.
//
// # What the realizer makes
//
// All in the host namespace (the node's own in production, a lab namespace
// in tests), for each desired network (Desired; port.L2ForHost derives it
// from a topology):
//
//   - brq<network-id[:11]>: a bridge with the network's MTU, up unless the
//     network is admin-down;
//   - vxlan networks: vxlan-<vni>, learning off, local address = the host's
//     tunnel address, UDP port 4789, the network's MTU, in the bridge. Its
//     FDB holds an all-zero-MAC entry per remote node with ports on the
//     network (the flood list) and an entry per remote port's MAC; with the
//     ARP responder on (the default) the device answers ARP and neighbour
//     solicitations for remote fixed IPs from permanent neighbour entries
//     ("proxy"), as Neutron's Linux bridge l2population did;
//   - flat networks: the interface mapped from provider:physical_network
//     (WithPhysicalInterfaceMappings) is put in the bridge and kept up;
//   - vlan networks: the 802.1Q sub-interface <interface>.<vlan> of the
//     mapped interface, in the bridge. Kernels without 802.1Q refuse it with
//     EOPNOTSUPP;
//   - local networks: the bridge alone.
//
// Ports' devices (tap<port-id[:11]>) are made by package port and by the
// router and DHCP realizers; this realizer only provides their bridges.
//
// # Ownership
//
// Every device the realizer creates carries the interface alias
// neutrino:bridge:<network-id>, neutrino:vxlan:<network-id> or
// neutrino:vlan:<network-id>. Apply deletes exactly the devices with those
// aliases that no desired network needs; the FDB and neighbour entries of
// its VXLAN devices are all its own. A device with one of its names but
// without its alias is someone else's: the network is reported with an
// error wrapping ErrConflict and the device is left alone. Mapped physical
// interfaces are the host's: enslaved, released and set up, never created,
// deleted or reconfigured otherwise.
//
// The kernel ignores an alias in a create request, so a device is marked
// right after it is made; a process killed between the two leaves an
// unmarked device that later Applies report as a conflict until it is
// deleted by hand.
//
// Host-side devices carry no addresses: IPv6 address generation is off on
// them (IFLA_INET6_ADDR_GEN_MODE none, set before they come up) so that new
// ports do not flood a bridge with neighbour discovery and MLD. It is not
// disable_ipv6, which would refuse the IPv6 responder entries of VXLAN
// devices. The mode is set at creation and not read back.
//
// # Cost
//
// An Apply reads the host with one link dump, and with one FDB dump and one
// neighbour dump when VXLAN devices are present, whatever the number of
// networks; it then issues one netlink request per change.
package network
