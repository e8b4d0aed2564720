package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

// Allocator hands out and takes back the addresses of one subnet, recording
// every reservation in a Store. It keeps an index of the store in memory,
// built on first use, so that finding the next free address costs O(log
// pool size) whatever is reserved. It is safe for concurrent use; calls are
// serialized.
type Allocator struct {
	subnetID string
	cidr     netip.Prefix
	gateway  netip.Addr
	store    Store
	outside  bool

	mu     sync.Mutex
	loaded bool
	pools  []pool // sorted by start
	// next is the first pool that may have a free address: pools before it
	// were found full, and stay so until a release in them.
	next    int
	owners  map[netip.Addr]holding
	byOwner map[string][]netip.Addr
}

// holding is who holds an address, and where it sits in byOwner[owner], so
// a release unlinks it in O(1) even when one owner holds thousands.
type holding struct {
	owner string
	i     int
}

type pool struct {
	Range
	start u128
	occ   *occupancy
}

// Option configures an Allocator.
type Option func(*Allocator)

// AllowOutsidePools lets Allocate reserve any usable address of the subnet
// (UsableRange(cidr) but the gateway), not only those in its allocation
// pools, as Neutron does for a port that asks for a specific fixed IP.
// Operators keep room outside the pools for hand-picked addresses, and ports
// imported from Neutron may hold some. AllocateNext still only uses the pools.
func AllowOutsidePools() Option { return func(a *Allocator) { a.outside = true } }

// NewAllocator returns the allocator of subnet subnetID with the given CIDR,
// allocation pools and gateway (the zero Addr for none). The pools and the
// gateway must pass ValidatePools; they are checked here, not trusted. The
// store is not read until the first call that needs it.
func NewAllocator(subnetID string, cidr netip.Prefix, pools []Range, gateway netip.Addr, store Store, opts ...Option) (*Allocator, error) {
	var errs []error
	if subnetID == "" {
		errs = append(errs, errdefs.Invalid("id", "a subnet ID is required"))
	}
	if store == nil {
		errs = append(errs, errdefs.Invalid("", "a Store is required"))
	}
	if cidr.IsValid() && cidr != cidr.Masked() {
		errs = append(errs, errdefs.Invalid("cidr", "%s has host bits set; the subnet is %s", cidr, cidr.Masked()))
	}
	if gateway.IsValid() && (gateway.BitLen() != cidr.Addr().BitLen() || gateway.Zone() != "") {
		errs = append(errs, errdefs.Invalid("gateway_ip", "%s is not an address of the family of %s", gateway, cidr))
	}
	errs = append(errs, ValidatePools(cidr, gateway, pools))
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ipam: subnet %s: %w", subnetID, err)
	}
	a := &Allocator{subnetID: subnetID, cidr: cidr, gateway: gateway, store: store}
	for _, o := range opts {
		o(a)
	}
	for _, r := range pools {
		a.pools = append(a.pools, pool{Range: r, start: u128From(r.Start)})
	}
	slices.SortFunc(a.pools, func(p, q pool) int { return p.Start.Compare(q.Start) })
	return a, nil
}

// SubnetID is the subnet the allocator serves.
func (a *Allocator) SubnetID() string { return a.subnetID }

// AllocateNext reserves the lowest free address of the allocation pools for
// owner. When none is left the error wraps ErrExhausted.
func (a *Allocator) AllocateNext(owner string) (netip.Addr, error) {
	if owner == "" {
		return netip.Addr{}, a.invalid("owner", "an owner is required")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(); err != nil {
		return netip.Addr{}, err
	}
	for a.next < len(a.pools) {
		p := &a.pools[a.next]
		off, ok := p.occ.firstFree()
		if !ok {
			a.next++
			continue
		}
		addr := p.at(off)
		won, err := a.store.Reserve(a.subnetID, addr, owner)
		if err != nil {
			return netip.Addr{}, a.errorf(err)
		}
		if won {
			a.track(addr, owner)
			return addr, nil
		}
		// Another writer of the store took it: learn what else it took.
		if err := a.resync(); err != nil {
			return netip.Addr{}, err
		}
		p.occ.take(off) // progress even if the store lists it nowhere
	}
	return netip.Addr{}, errdefs.Exhausted("", "subnet %s: no free address left in its allocation pools", a.subnetID)
}

// Allocate reserves addr for owner. Asking again for an address owner
// already holds succeeds, so a desired state can be applied twice. The error
// wraps ErrConflict when another owner holds addr, and ErrInvalid when addr
// is the gateway or outside the allocation pools (outside the usable
// addresses with AllowOutsidePools).
func (a *Allocator) Allocate(owner string, addr netip.Addr) error {
	if err := a.check(owner, addr); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(); err != nil {
		return err
	}
	if held, ok := a.owners[addr]; ok {
		if held.owner == owner {
			return nil
		}
		return a.conflict(addr, held.owner)
	}
	won, err := a.store.Reserve(a.subnetID, addr, owner)
	if err != nil {
		return a.errorf(err)
	}
	if !won {
		if err := a.resync(); err != nil {
			return err
		}
		if held := a.owners[addr]; held.owner != owner {
			return a.conflict(addr, held.owner)
		}
		return nil
	}
	a.track(addr, owner)
	return nil
}

// check is what Allocate can refuse without the lock: pools, gateway and cidr
// never change.
func (a *Allocator) check(owner string, addr netip.Addr) error {
	switch {
	case owner == "":
		return a.invalid("owner", "an owner is required")
	case !addr.IsValid() || addr.Zone() != "":
		return a.invalid("ip_address", "%q is not an address without zone", addr.String())
	case addr == a.gateway:
		return a.invalid("ip_address", "%s is the gateway, which is never allocated", addr)
	case a.poolIndex(addr) >= 0:
		return nil
	case !a.outside:
		return a.invalid("ip_address", "%s is outside the allocation pools", addr)
	case !UsableRange(a.cidr).Contains(addr):
		return a.invalid("ip_address", "%s is outside %s, the usable addresses of %s", addr, UsableRange(a.cidr), a.cidr)
	}
	return nil
}

// Release gives addr back. Releasing a free address is not an error.
func (a *Allocator) Release(addr netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(); err != nil {
		return err
	}
	if err := a.store.Release(a.subnetID, addr); err != nil {
		return a.errorf(err)
	}
	a.untrack(addr)
	return nil
}

// ReleaseOwner gives back every address owner holds and returns them, sorted.
func (a *Allocator) ReleaseOwner(owner string) ([]netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(); err != nil {
		return nil, err
	}
	return a.release(slices.Clone(a.byOwner[owner]))
}

// GC releases the reservations whose owner valid rejects (ports deleted while
// this process was not watching, say) and returns their addresses, sorted.
// It reads the whole store first, so it also repairs the index after the
// store was changed behind the allocator's back. valid runs with the
// allocator locked and must not call it.
func (a *Allocator) GC(valid func(owner string) bool) ([]netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.resync(); err != nil {
		return nil, err
	}
	var leaked []netip.Addr
	for addr, held := range a.owners {
		if !valid(held.owner) {
			leaked = append(leaked, addr)
		}
	}
	return a.release(leaked)
}

// Owned returns the addresses owner holds, sorted.
func (a *Allocator) Owned(owner string) ([]netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(); err != nil {
		return nil, err
	}
	addrs := slices.Clone(a.byOwner[owner])
	slices.SortFunc(addrs, netip.Addr.Compare)
	return addrs, nil
}

func (a *Allocator) release(addrs []netip.Addr) ([]netip.Addr, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	if err := a.store.Release(a.subnetID, addrs...); err != nil {
		return nil, a.errorf(err)
	}
	for _, addr := range addrs {
		a.untrack(addr)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return addrs, nil
}

func (a *Allocator) load() error {
	if a.loaded {
		return nil
	}
	return a.resync()
}

// resync rebuilds the index from the store.
func (a *Allocator) resync() error {
	r, err := a.store.Reservations(a.subnetID)
	if err != nil {
		return a.errorf(err)
	}
	for i := range a.pools {
		a.pools[i].occ = newOccupancy(a.pools[i].span())
	}
	a.next = 0
	a.owners = make(map[netip.Addr]holding, len(r))
	a.byOwner = make(map[string][]netip.Addr)
	for addr, owner := range r {
		a.track(addr, owner)
	}
	a.loaded = true
	return nil
}

func (a *Allocator) track(addr netip.Addr, owner string) {
	a.owners[addr] = holding{owner, len(a.byOwner[owner])}
	a.byOwner[owner] = append(a.byOwner[owner], addr)
	if i := a.poolIndex(addr); i >= 0 {
		a.pools[i].occ.take(a.pools[i].offset(addr))
	}
}

func (a *Allocator) untrack(addr netip.Addr) {
	if h, ok := a.owners[addr]; ok {
		delete(a.owners, addr)
		held := a.byOwner[h.owner]
		last := len(held) - 1
		if h.i != last { // move the last one into the gap
			held[h.i] = held[last]
			a.owners[held[h.i]] = holding{h.owner, h.i}
		}
		if last == 0 {
			delete(a.byOwner, h.owner)
		} else {
			a.byOwner[h.owner] = held[:last]
		}
	}
	if i := a.poolIndex(addr); i >= 0 && a.pools[i].occ.free(a.pools[i].offset(addr)) {
		a.next = min(a.next, i)
	}
}

// poolIndex is the index of the pool holding addr, -1 for none.
func (a *Allocator) poolIndex(addr netip.Addr) int {
	i, found := slices.BinarySearchFunc(a.pools, addr, func(p pool, t netip.Addr) int { return p.Start.Compare(t) })
	if !found {
		i--
	}
	if i < 0 || !a.pools[i].Contains(addr) {
		return -1
	}
	return i
}

func (p *pool) offset(addr netip.Addr) u128 { return u128From(addr).sub(p.start) }

func (p *pool) at(off u128) netip.Addr {
	u, _ := p.start.add(off)
	return u.addr(p.Start)
}

// The field errors name the subnet in their message, not by wrapping, so a
// caller can still put its own path in front with errdefs.Prefix
// ("ports[3].fixed_ips[0]" + "ip_address").
func (a *Allocator) invalid(path, format string, args ...any) error {
	return errdefs.Invalid(path, "subnet %s: %s", a.subnetID, fmt.Sprintf(format, args...))
}

func (a *Allocator) conflict(addr netip.Addr, holder string) error {
	return errdefs.Conflict("ip_address", "subnet %s: %s is already reserved by %q", a.subnetID, addr, holder)
}

func (a *Allocator) errorf(err error) error {
	return fmt.Errorf("ipam: subnet %s: %w", a.subnetID, err)
}
