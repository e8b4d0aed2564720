// Package neutrino brings OpenStack Neutron's tenant networking to any Go
// program: describe networks, subnets, ports, routers, floating IPs,
// security groups and BGP speakers in Neutron's own vocabulary, and
// Neutrino's realizers make a Linux node match that description through
// netlink and nftables, with in-process DHCP and an embedded BGP speaker,
// without spawning ip, iptables or dnsmasq.
//
// # The desired-state document
//
// A Topology is one JSON document whose keys are Neutron API v2.0
// collection names ("networks", "subnets", "ports", "routers",
// "floatingips", "security_groups", "address_scopes", "address_groups",
// "subnetpools", "bgp_speakers", "bgp_peers") and whose elements are Neutron
// resource objects, plus our "hosts" extension: each node's VXLAN tunnel
// address and the BGP speakers it runs. A platform that speaks the Neutron API
// can feed its objects in as they are; keys Neutrino does not know are
// ignored.
//
//	topo, err := neutrino.LoadFile("topology.json") // malformed fields name their path
//	topo.Defaults()                                 // optional: Neutron's defaults, explicitly
//	err = topo.Validate()                           // every object and every reference
//	slice, err := topo.ForHost("node1")             // what node1 realizes, and the context it needs
//
// Load never applies defaults and no realizer does: a document that leaves
// out a gateway_ip, an ip_version or a network type fails Validate until the
// application calls Defaults (or the per-object network.Defaults,
// subnet.Defaults, secgroup.Defaults, secgroup.DefaultGroup), so what is
// realized is always what the document says.
//
// Errors wrap the sentinels ErrInvalid, ErrConflict, ErrNotFound,
// ErrExhausted and ErrUnsupported (test them with errors.Is) and name the
// field's path and the object:
//
//	subnets[2].allocation_pools[0].start: 10.0.1.300 is not an IP address (subnet 7f3e...)
//
// ErrUnsupported refuses a Neutron field, value or collection Neutrino does
// not realize (an HA or distributed router, trunk sub-ports, QoS policies,
// port forwardings, ...): rather than realize something else, Validate
// refuses the document and nothing is applied. The README lists the
// supported subset; each model package keeps its refusals in one table
// (unsupported.go).
//
// Scheduling is Neutron's, by port binding: an instance port is plugged on
// its binding:host_id, a router runs where its router ports are bound, a
// network's DHCP server where its network:dhcp port is bound. ForHost
// follows these rules and documents which objects of a slice are the
// node's to realize and which are context (remote ports for VXLAN
// l2population and DHCP, remote-group members, routers behind a BGP
// speaker's networks); Index answers the same questions (PortsBoundTo,
// RoutersOn, NetworksOn, DHCPNetworksOn) with lookup tables built once.
//
// # Packages
//
// The models and their realizers live in one package per Neutron resource:
// network (bridges, VXLAN, flat and VLAN segments), port (veth into an
// instance namespace, or tap), secgroup (security groups and port security
// in nftables), router (router namespaces, SNAT, floating IPs, gratuitous
// ARP), dhcp (DHCPv4 and DHCPv6 servers), bgp (advertised routes and an
// embedded gobgp speaker), ipam (address allocation, Neutron's defaults,
// subnet pools). The namespace package is the only code that switches
// network namespaces. Dependencies point one way: the root imports every
// package and nothing imports the root.
//
// # The realizer contract
//
// Every realizer has the same shape:
//
//	r, err := router.NewRealizer(host, router.WithLogger(log)) // host: the node's *namespace.Handle
//	report, err := r.Apply(ctx, desired)                       // converge
//	report, err := r.Plan(ctx, desired)                        // the same diff, nothing changed
//
// and the same promises:
//
//  1. It converges from any start: the kernel is the state, so no cache is
//     needed after a crash, a restart or a hand-deleted device.
//  2. It is idempotent, measurably: the Report counts the mutations issued,
//     and a second Apply of the same desired state issues none.
//  3. It validates before it mutates: invalid desired state changes nothing.
//  4. It owns, and touches only what it owns: namespaces carry the node
//     prefix, devices our names and an ownership alias, routes our
//     rtm_protocol, nftables state our tables. A foreign object that collides
//     with ours is an error wrapping ErrConflict, never deleted.
//  5. A security-group or NAT change is one nftables transaction: packets see
//     the old policy or the new one, never none.
//  6. Partial failure is reported, not hidden: one bad object does not stop
//     the others, and the error joins the per-object errors with their IDs.
//  7. Context and cancellation everywhere; a *slog.Logger is injected with an
//     option; one Apply runs at a time per realizer.
//  8. Cost grows with the change, not the state: one dump per kind per Apply,
//     sets and maps rather than per-object rules.
//
// Models are plain Go and build on every OS; code that touches the kernel
// is in *_linux.go files, with stubs returning errors.ErrUnsupported
// elsewhere.
package neutrino
