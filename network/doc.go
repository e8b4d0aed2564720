// Package network models Neutron networks and realizes their L2 on a node:
// a Linux bridge per network with ports on the node, VXLAN segments with
// l2population (static FDB and neighbour entries from port bindings), flat
// segments on a mapped physical interface and VLAN sub-interfaces.
package network
