package ipam

import (
	"maps"
	"net/netip"
	"sync"
)

// MemoryStore is a Store that forgets everything when the process ends: for
// tests, and for orchestrators that rebuild reservations from their own
// database at start. The zero value is ready to use.
type MemoryStore struct {
	mu      sync.Mutex
	subnets map[string]map[netip.Addr]string
}

var _ Store = (*MemoryStore)(nil)

// Reserve implements Store.
func (s *MemoryStore) Reserve(subnetID string, addr netip.Addr, owner string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subnets == nil {
		s.subnets = make(map[string]map[netip.Addr]string)
	}
	r := s.subnets[subnetID]
	if r == nil {
		r = make(map[netip.Addr]string)
		s.subnets[subnetID] = r
	}
	if _, taken := r[addr]; taken {
		return false, nil
	}
	r[addr] = owner
	return true, nil
}

// Release implements Store.
func (s *MemoryStore) Release(subnetID string, addrs ...netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.subnets[subnetID]
	for _, a := range addrs {
		delete(r, a)
	}
	if len(r) == 0 {
		delete(s.subnets, subnetID)
	}
	return nil
}

// Reservations implements Store.
func (s *MemoryStore) Reservations(subnetID string) (map[netip.Addr]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := maps.Clone(s.subnets[subnetID])
	if r == nil {
		r = make(map[netip.Addr]string)
	}
	return r, nil
}
