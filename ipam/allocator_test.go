package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newDefaultAllocator serves cidr with Neutron's default gateway and pools.
func newDefaultAllocator(t testing.TB, cidr string, store Store, opts ...Option) *Allocator {
	t.Helper()
	p := netip.MustParsePrefix(cidr)
	gw := DefaultGateway(p)
	a, err := NewAllocator("subnet-1", p, DefaultPools(p, gw), gw, store, opts...)
	require.NoError(t, err)
	return a
}

func mustNext(t testing.TB, a *Allocator, owner string) netip.Addr {
	t.Helper()
	addr, err := a.AllocateNext(owner)
	require.NoError(t, err)
	return addr
}

func TestAllocateNextHandsOutTheLowestFreeAddress(t *testing.T) {
	a := newDefaultAllocator(t, "10.0.0.0/24", &MemoryStore{})
	require.Equal(t, "10.0.0.2", mustNext(t, a, "p1").String())
	require.Equal(t, "10.0.0.3", mustNext(t, a, "p2").String())
	require.Equal(t, "10.0.0.4", mustNext(t, a, "p3").String())
	require.NoError(t, a.Release(netip.MustParseAddr("10.0.0.3")))
	require.Equal(t, "10.0.0.3", mustNext(t, a, "p4").String(), "a released address is the lowest free again")
	require.Equal(t, "10.0.0.5", mustNext(t, a, "p5").String())
}

func TestAllocateNextWalksPoolsInAddressOrder(t *testing.T) {
	cidr := netip.MustParsePrefix("10.0.0.0/24")
	pools := []Range{rng("10.0.0.200", "10.0.0.201"), rng("10.0.0.10", "10.0.0.11")}
	a, err := NewAllocator("s", cidr, pools, netip.MustParseAddr("10.0.0.1"), &MemoryStore{})
	require.NoError(t, err)
	var got []string
	for i := range 4 {
		got = append(got, mustNext(t, a, fmt.Sprint("p", i)).String())
	}
	require.Equal(t, []string{"10.0.0.10", "10.0.0.11", "10.0.0.200", "10.0.0.201"}, got)
	require.NoError(t, a.Release(netip.MustParseAddr("10.0.0.11")))
	require.Equal(t, "10.0.0.11", mustNext(t, a, "again").String(), "a release reopens an earlier pool")
}

func TestAllocateNextExhaustsWithTheSentinelAndTheSubnet(t *testing.T) {
	a := newDefaultAllocator(t, "10.0.0.0/29", &MemoryStore{}) // .2 to .6
	for i := range 5 {
		mustNext(t, a, fmt.Sprint("p", i))
	}
	_, err := a.AllocateNext("one-too-many")
	require.ErrorIs(t, err, errdefs.ErrExhausted)
	require.ErrorContains(t, err, "subnet-1")
	require.NoError(t, a.Release(netip.MustParseAddr("10.0.0.4")))
	require.Equal(t, "10.0.0.4", mustNext(t, a, "late").String())

	empty, err := NewAllocator("no-pools", netip.MustParsePrefix("10.0.1.0/24"), nil, netip.Addr{}, &MemoryStore{})
	require.NoError(t, err)
	_, err = empty.AllocateNext("p")
	require.ErrorIs(t, err, errdefs.ErrExhausted, "a subnet without pools allocates nothing by itself")
}

func TestGatewayIsNeverAllocated(t *testing.T) {
	// The gateway in the middle splits the default pool in two.
	cidr := netip.MustParsePrefix("10.0.0.0/28")
	gw := netip.MustParseAddr("10.0.0.7")
	a, err := NewAllocator("s", cidr, DefaultPools(cidr, gw), gw, &MemoryStore{})
	require.NoError(t, err)
	var got []netip.Addr
	for {
		addr, err := a.AllocateNext("p")
		if errors.Is(err, errdefs.ErrExhausted) {
			break
		}
		require.NoError(t, err)
		got = append(got, addr)
	}
	require.Len(t, got, 13)
	require.NotContains(t, got, gw)
	err = a.Allocate("router", gw)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	require.ErrorContains(t, err, "ip_address: subnet s: 10.0.0.7 is the gateway")

	// A gateway inside a pool is refused up front, as Neutron does.
	_, err = NewAllocator("s", cidr, []Range{rng("10.0.0.1", "10.0.0.14")}, gw, &MemoryStore{})
	require.ErrorIs(t, err, errdefs.ErrConflict)
}

func TestAllocateSpecificAddress(t *testing.T) {
	a := newDefaultAllocator(t, "10.0.0.0/24", &MemoryStore{})
	addr := netip.MustParseAddr("10.0.0.50")
	require.NoError(t, a.Allocate("port-a", addr))
	require.NoError(t, a.Allocate("port-a", addr), "asking again for what one holds succeeds")

	err := a.Allocate("port-b", addr)
	require.ErrorIs(t, err, errdefs.ErrConflict)
	require.EqualError(t, err, `ip_address: subnet subnet-1: 10.0.0.50 is already reserved by "port-a"`)
	require.EqualError(t, errdefs.Prefix("ports[3].fixed_ips[0]", err),
		`ports[3].fixed_ips[0].ip_address: subnet subnet-1: 10.0.0.50 is already reserved by "port-a"`,
		"callers can put their own path in front")

	for _, bad := range []string{"10.0.0.0", "10.0.0.255", "10.0.1.5", "2001:db8::1", "10.0.0.1"} {
		require.ErrorIs(t, a.Allocate("port-b", netip.MustParseAddr(bad)), errdefs.ErrInvalid, bad)
	}
	require.ErrorIs(t, a.Allocate("port-b", netip.Addr{}), errdefs.ErrInvalid)
	require.ErrorIs(t, a.Allocate("", netip.MustParseAddr("10.0.0.9")), errdefs.ErrInvalid)

	// AllocateNext steps around a specific reservation.
	require.NoError(t, a.Allocate("port-c", netip.MustParseAddr("10.0.0.2")))
	require.Equal(t, "10.0.0.3", mustNext(t, a, "port-d").String())
}

func TestAllocateOutsidePoolsOnlyWhenAllowed(t *testing.T) {
	cidr := netip.MustParsePrefix("10.0.0.0/24")
	pools := []Range{rng("10.0.0.100", "10.0.0.200")}
	gw := netip.MustParseAddr("10.0.0.1")
	strict, err := NewAllocator("s", cidr, pools, gw, &MemoryStore{})
	require.NoError(t, err)
	err = strict.Allocate("vip", netip.MustParseAddr("10.0.0.10"))
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	require.ErrorContains(t, err, "outside the allocation pools")

	loose, err := NewAllocator("s", cidr, pools, gw, &MemoryStore{}, AllowOutsidePools())
	require.NoError(t, err)
	require.NoError(t, loose.Allocate("vip", netip.MustParseAddr("10.0.0.10")))
	require.ErrorIs(t, loose.Allocate("x", netip.MustParseAddr("10.0.0.10")), errdefs.ErrConflict)
	for _, bad := range []string{"10.0.0.0", "10.0.0.255", "10.0.0.1", "10.0.1.1"} {
		require.ErrorIs(t, loose.Allocate("x", netip.MustParseAddr(bad)), errdefs.ErrInvalid, bad)
	}
	require.Equal(t, "10.0.0.100", mustNext(t, loose, "p").String(), "AllocateNext still keeps to the pools")
	released, err := loose.ReleaseOwner("vip")
	require.NoError(t, err)
	require.Equal(t, []netip.Addr{netip.MustParseAddr("10.0.0.10")}, released)
}

func TestReleaseOwnerAndOwned(t *testing.T) {
	a := newDefaultAllocator(t, "10.0.0.0/24", &MemoryStore{})
	mustNext(t, a, "port-a")
	mustNext(t, a, "port-b")
	require.NoError(t, a.Allocate("port-a", netip.MustParseAddr("10.0.0.40")))
	owned, err := a.Owned("port-a")
	require.NoError(t, err)
	require.Equal(t, "[10.0.0.2 10.0.0.40]", fmt.Sprint(owned))

	released, err := a.ReleaseOwner("port-a")
	require.NoError(t, err)
	require.Equal(t, "[10.0.0.2 10.0.0.40]", fmt.Sprint(released))
	owned, _ = a.Owned("port-a")
	require.Empty(t, owned)
	released, err = a.ReleaseOwner("port-a")
	require.NoError(t, err)
	require.Empty(t, released, "releasing twice is a no-op")
	require.NoError(t, a.Release(netip.MustParseAddr("10.0.0.77")), "releasing a free address is a no-op")
	require.Equal(t, "10.0.0.2", mustNext(t, a, "port-c").String())
}

func TestGCReleasesWhatNoValidOwnerHolds(t *testing.T) {
	store := &MemoryStore{}
	a := newDefaultAllocator(t, "10.0.0.0/24", store)
	for _, owner := range []string{"keep-1", "gone-1", "keep-2", "gone-2"} {
		mustNext(t, a, owner)
	}
	// A reservation written by someone else, which only the store knows.
	_, err := store.Reserve("subnet-1", netip.MustParseAddr("10.0.0.90"), "gone-3")
	require.NoError(t, err)

	valid := map[string]bool{"keep-1": true, "keep-2": true}
	released, err := a.GC(func(owner string) bool { return valid[owner] })
	require.NoError(t, err)
	require.Equal(t, "[10.0.0.3 10.0.0.5 10.0.0.90]", fmt.Sprint(released))
	r, _ := store.Reservations("subnet-1")
	require.Equal(t, map[netip.Addr]string{
		netip.MustParseAddr("10.0.0.2"): "keep-1",
		netip.MustParseAddr("10.0.0.4"): "keep-2",
	}, r)
	require.Equal(t, "10.0.0.3", mustNext(t, a, "new").String())
}

func TestFileStoreAllocationsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	open := func() *Allocator {
		s, err := OpenFileStore(dir)
		require.NoError(t, err)
		return newDefaultAllocator(t, "10.0.0.0/24", s)
	}
	a := open()
	require.Equal(t, "10.0.0.2", mustNext(t, a, "p1").String())
	require.Equal(t, "10.0.0.3", mustNext(t, a, "p2").String())
	require.NoError(t, a.Allocate("p3", netip.MustParseAddr("10.0.0.4")))
	require.NoError(t, a.Release(netip.MustParseAddr("10.0.0.2")))

	b := open() // a new process
	require.Equal(t, "10.0.0.2", mustNext(t, b, "p4").String())
	require.Equal(t, "10.0.0.5", mustNext(t, b, "p5").String())
	require.ErrorIs(t, b.Allocate("x", netip.MustParseAddr("10.0.0.3")), errdefs.ErrConflict)
	owned, err := b.Owned("p3")
	require.NoError(t, err)
	require.Equal(t, "[10.0.0.4]", fmt.Sprint(owned))
}

func TestAllocatorsSharingAStoreNeverHandOutOneAddressTwice(t *testing.T) {
	store := &MemoryStore{}
	a := newDefaultAllocator(t, "10.0.0.0/24", store)
	b := newDefaultAllocator(t, "10.0.0.0/24", store)
	require.Equal(t, "10.0.0.2", mustNext(t, a, "from-a").String())
	require.Equal(t, "10.0.0.3", mustNext(t, b, "from-b").String(), "b loads a's reservation")
	// a's index does not know .3; the store refuses it and a learns.
	require.Equal(t, "10.0.0.4", mustNext(t, a, "from-a").String())
	err := b.Allocate("from-b", netip.MustParseAddr("10.0.0.2"))
	require.ErrorIs(t, err, errdefs.ErrConflict)
	require.ErrorContains(t, err, `reserved by "from-a"`)
}

func TestNewAllocatorValidatesItsInput(t *testing.T) {
	cidr := netip.MustParsePrefix("10.0.0.0/24")
	pools := DefaultPools(cidr, netip.MustParseAddr("10.0.0.1"))
	for name, tc := range map[string]struct {
		id      string
		cidr    netip.Prefix
		pools   []Range
		gateway netip.Addr
		store   Store
	}{
		"no id":         {"", cidr, pools, netip.MustParseAddr("10.0.0.1"), &MemoryStore{}},
		"no store":      {"s", cidr, pools, netip.MustParseAddr("10.0.0.1"), nil},
		"host bits":     {"s", netip.MustParsePrefix("10.0.0.5/24"), nil, netip.Addr{}, &MemoryStore{}},
		"no cidr":       {"s", netip.Prefix{}, nil, netip.Addr{}, &MemoryStore{}},
		"gateway v6":    {"s", cidr, pools, netip.MustParseAddr("2001:db8::1"), &MemoryStore{}},
		"pool outside":  {"s", cidr, []Range{rng("10.0.1.1", "10.0.1.9")}, netip.Addr{}, &MemoryStore{}},
		"pools overlap": {"s", cidr, []Range{rng("10.0.0.2", "10.0.0.9"), rng("10.0.0.9", "10.0.0.20")}, netip.Addr{}, &MemoryStore{}},
	} {
		_, err := NewAllocator(tc.id, tc.cidr, tc.pools, tc.gateway, tc.store)
		require.Error(t, err, name)
		require.True(t, errors.Is(err, errdefs.ErrInvalid) || errors.Is(err, errdefs.ErrConflict), name)
	}
}

// failingStore fails every call, to show errors reach the caller wrapped.
type failingStore struct{ err error }

func (s failingStore) Reserve(string, netip.Addr, string) (bool, error)   { return false, s.err }
func (s failingStore) Release(string, ...netip.Addr) error                { return s.err }
func (s failingStore) Reservations(string) (map[netip.Addr]string, error) { return nil, s.err }

func TestStoreErrorsAreWrappedWithTheSubnet(t *testing.T) {
	boom := errors.New("disk on fire")
	a := newDefaultAllocator(t, "10.0.0.0/24", failingStore{boom})
	_, err := a.AllocateNext("p")
	require.ErrorIs(t, err, boom)
	require.EqualError(t, err, "ipam: subnet subnet-1: disk on fire")
	_, err = a.GC(func(string) bool { return true })
	require.ErrorIs(t, err, boom)
}

func TestAllocatorIsSafeForConcurrentUse(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			a := newDefaultAllocator(t, "10.0.0.0/24", open()) // 253 addresses
			const workers, each = 16, 24                       // 384 requests
			var mu sync.Mutex
			got := map[netip.Addr]string{}
			exhausted := 0
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						owner := fmt.Sprintf("w%d-%d", w, i)
						addr, err := a.AllocateNext(owner)
						mu.Lock()
						switch {
						case errors.Is(err, errdefs.ErrExhausted):
							exhausted++
						case assert.NoError(t, err):
							if prev, dup := got[addr]; dup {
								t.Errorf("%s handed out to %s and %s", addr, prev, owner)
							}
							got[addr] = owner
						}
						mu.Unlock()
						if i%3 == 0 && err == nil { // churn: give some back
							mu.Lock()
							delete(got, addr) // before: once released it may be handed out again
							mu.Unlock()
							assert.NoError(t, a.Release(addr))
						}
					}
				}()
			}
			wg.Wait()
			require.LessOrEqual(t, len(got), 253)
			t.Logf("%d held, %d exhausted", len(got), exhausted)
			r, err := a.store.Reservations("subnet-1")
			require.NoError(t, err)
			require.Len(t, r, len(got), "the store and the callers agree")
			for addr, owner := range got {
				require.Equal(t, owner, r[addr])
			}
		})
	}
}
