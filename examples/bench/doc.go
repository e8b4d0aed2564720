// Command bench measures a Neutrino node at scale side by side with two
// baselines, in one run:
//
//	go run ./examples/bench [--quick] [--reps N] [--json FILE] [--cpuprofile FILE]
//	                        [--routers N --ports N --networks N --rules N --groups N --members N --fips N]
//
// It generates a node-scale topology (default: 100 routers with two
// internal interfaces, a gateway with SNAT and a floating IP each; 1,000
// instance ports on 100 VXLAN networks with DHCP; ten security-group rules
// per group, a remote-group rule among them) and measures, alternating the
// order over repetitions, each side on a fresh node (a namespace the bench
// makes):
//
//   - Neutrino (package agent, in a child process so that its peak RSS is
//     its own): bring-up from scratch, a no-op Apply, one port added,
//     teardown, one security-group membership change at 10,000 members and
//     one floating IP added at 10,000, on the node and in the realizer the
//     change concerns;
//   - baseline A, "the Neutron way": the same state made by one ip, ip netns
//     exec, sysctl or nft process per operation, and one dnsmasq per network
//     started as Neutron starts it;
//   - baseline B, "the kernel's limit": the same state from one ip -batch
//     per namespace, one sysctl per namespace and one nft -f per table (and
//     the same dnsmasqs).
//
// The baselines' commands are derived from a dump of the state Neutrino
// made on a scratch node, and every result — Neutrino's and the
// baselines' — is dumped and compared with it, device by device, address
// by address, route by route, rule by rule and element by element: a
// difference fails the run. BGP is not part of the bench (the speaker
// needs a peer; bgp has benchmarks of its own).
//
// It prints a table of medians with their spread and the ratios
// Neutrino/A and Neutrino/B, and marks the goals of ARCHITECTURE.md
// section 8. Everything lives in namespaces named nb<pid>-…, removed at the
// end, on failure and on Ctrl-C. Needs root.
package main
