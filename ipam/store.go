package ipam

import "net/netip"

// Store keeps the reservations of addresses: in one subnet, one address has
// at most one owner. It is the durable record; an Allocator keeps an index
// of it in memory and asks it before every hand-out, so the Store is the
// arbiter when several allocators (or processes) share it. An orchestrator
// with its own database implements these three methods over it.
//
// Implementations must be safe for concurrent use.
type Store interface {
	// Reserve records that owner holds addr in subnetID. It reports false, and
	// no error, when addr is already reserved, by anyone.
	Reserve(subnetID string, addr netip.Addr, owner string) (bool, error)
	// Release forgets the reservations of addrs in subnetID. Addresses that
	// are not reserved are not an error.
	Release(subnetID string, addrs ...netip.Addr) error
	// Reservations returns every reservation of subnetID, address to owner,
	// as a map the caller may keep. An unknown subnet has none.
	Reservations(subnetID string) (map[netip.Addr]string, error)
}
