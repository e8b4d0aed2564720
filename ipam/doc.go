// Package ipam allocates addresses the way Neutron's built-in IPAM does:
// default gateways and allocation pools of subnets, fixed IPs from those
// pools, SLAAC addresses, subnets carved from subnet pools, and address
// scopes. It is pure Go, touches no kernel and runs in no namespace; the
// subnet, port and bgp packages build on it.
//
// # Defaults
//
// Neutron fills in what a subnet leaves out, and so do explicit functions
// here, never a realizer behind the caller's back: DefaultGateway (IPv4:
// network+1; IPv6: the subnet-router anycast address, the network address
// itself), DefaultPools (Neutron's generate_pools: the CIDR minus network,
// IPv4 broadcast and gateway; /31 keeps both addresses, single-address
// subnets keep theirs) and UsableRange, the bounds ValidatePools holds pools
// to. Single-address subnets get no default gateway; Neutron's rule would
// point outside the subnet or at its only address.
//
// # Allocator and Store
//
// As in CNI's host-local plugin, allocation is split in two. A Store records
// reservations (subnet, address → owner) durably and is the arbiter between
// writers: MemoryStore for tests and callers that rebuild state themselves,
// FileStore for a node (one file per reservation, written atomically), or
// the caller's own database behind the three-method interface. An Allocator
// serves one subnet: it reads the store once, lazily, keeps an index in
// memory, and reserves through the store, so a lost race with another writer
// is detected and the index repaired.
//
// The owner is a string the caller chooses, typically a port ID. Cleanup
// works from the set of valid owners: GC releases every reservation whose
// owner is no longer wanted, which collects what a crash or a missed delete
// leaked.
//
// # Allocation order
//
// AllocateNext hands out the lowest free address of the pools, in address
// order. Neutron gives DHCP ports the lowest free address and other ports a
// random one of the first 1000 free, to spread concurrent API requests over
// its database rows. This allocator serializes its callers in memory, so it
// gains nothing from randomness and keeps determinism: the same requests in
// the same order give the same addresses, which makes tests and plans
// reproducible. A caller that wants Neutron's randomness picks an address
// and calls Allocate.
//
// Finding the lowest free address costs O(log64 of the pool size), whatever
// is reserved: each pool keeps a 64-ary tree of "anything free below?" bits
// (three levels for an IPv4 /16, eleven for an IPv6 /64) that materializes
// only where addresses are taken, so a /64 pool is never laid out in memory.
//
// The gateway is never handed out, and neither is anything outside the
// pools unless AllowOutsidePools is given (Neutron lets a port ask for any
// address of the subnet; operators keep room outside the pools for that).
// Allocate of an address the owner already holds succeeds, so applying one
// desired state twice does not fail.
//
// # Subnet pools and address scopes
//
// SubnetPool.Carve picks a subnet as Neutron's SubnetAllocator does (the
// best-fitting free block, not the first), and CarveSpecific checks a
// requested CIDR. SameScope tells whether two subnets, through their pools,
// are in one address scope: traffic between them is routed without NAT, and
// a BGP speaker announces a tenant subnet only if it shares the scope of the
// speaker's network. ValidateAddressScopes checks the references and that
// prefixes in one scope do not overlap.
//
// Every error wraps one of the sentinels of internal/errdefs (ErrInvalid,
// ErrConflict, ErrNotFound, ErrExhausted) and names the subnet or pool;
// field errors carry paths relative to their object, so callers can prefix
// them with errdefs.Prefix.
package ipam
