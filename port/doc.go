// Package port models Neutron ports and realizes instance attachment on a
// node: a veth pair whose instance end moves into the instance's namespace
// (binding:profile netns), or a tap device for a hypervisor, with the host end
// in the network's bridge, the port's MAC and the network's MTU.
package port
