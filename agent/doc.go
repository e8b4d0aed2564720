// Package agent assembles every Neutrino realizer into one node: it maps a
// Topology's slice for a host onto each realizer's desired state and applies
// them in dependency order — L2 (bridges, VXLAN), then what plugs into the
// bridges (instance ports, routers, DHCP servers), then security groups, then
// BGP — so that a node converges the way Neutron's L2, L3, DHCP and BGP agents
// together would, from one process.
//
// It is what examples/node-agent, examples/demo and the node-scale benchmark
// share. A platform with its own control loop can use it as is, or copy the
// few lines of Desired that concern the realizers it needs (the bespoke
// agents under examples/ do that). The package imports the root package,
// which imports none of the packages below it: the dependency rule "nothing
// imports the root" holds for the SDK's realizer packages, and agent sits
// beside the examples, above the root.
//
// Apply keeps going when one realizer fails (a broken router does not stop
// DHCP), and joins the errors; Destroy applies the empty state in reverse
// order, which removes everything the node's realizers own and nothing else.
package agent
