package etcdstore_test

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/neutrino-net/neutrino/ipam"
	"github.com/neutrino-net/neutrino/ipam/etcdstore"
	"github.com/neutrino-net/neutrino/source/etcd/etcdtest"
)

func TestStoreContract(t *testing.T) {
	srv := etcdtest.Start(t)
	s := etcdstore.New(srv.Client(t), "/neutrino")
	a4, a6 := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::5")

	r, err := s.Reservations("net-a")
	require.NoError(t, err)
	require.Empty(t, r, "an unknown subnet has no reservations")
	ok, err := s.Reserve("net-a", a4, "port-1")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.Reserve("net-a", a4, "port-2")
	require.NoError(t, err)
	require.False(t, ok, "an address has one owner")
	ok, err = s.Reserve("net-a", a6, "port-1")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.Reserve("net-b", a4, "port-3")
	require.NoError(t, err)
	require.True(t, ok, "subnets are independent")
	// "net-a" must not see "net-ab"'s keys, a prefix of whose name it is.
	ok, err = s.Reserve("net-ab", a4, "port-4")
	require.NoError(t, err)
	require.True(t, ok)

	r, err = s.Reservations("net-a")
	require.NoError(t, err)
	require.Equal(t, map[netip.Addr]string{a4: "port-1", a6: "port-1"}, r)

	require.NoError(t, s.Release("net-a", a4, netip.MustParseAddr("10.9.9.9")))
	require.NoError(t, s.Release("net-unknown", a4))
	r, _ = s.Reservations("net-a")
	require.Equal(t, map[netip.Addr]string{a6: "port-1"}, r)

	for _, id := range []string{"", "a/b"} {
		_, err := s.Reserve(id, a4, "o")
		require.ErrorIs(t, err, errdefs.ErrInvalid, id)
	}
	_, err = s.Reserve("ok", netip.Addr{}, "o")
	require.ErrorIs(t, err, errdefs.ErrInvalid)
}

func TestReleaseOfManyAddressesSpansTransactions(t *testing.T) {
	srv := etcdtest.Start(t)
	s := etcdstore.New(srv.Client(t), "/neutrino")
	var addrs []netip.Addr
	a := netip.MustParseAddr("100.64.0.1")
	for range 250 {
		ok, err := s.Reserve("net", a, "o")
		require.NoError(t, err)
		require.True(t, ok)
		addrs = append(addrs, a)
		a = a.Next()
	}
	require.NoError(t, s.Release("net", addrs...))
	r, err := s.Reservations("net")
	require.NoError(t, err)
	require.Empty(t, r)
}

// TestConcurrentAllocatorsNeverDoubleAllocate is two orchestrator replicas:
// two allocators of one subnet, each with its own etcd client, allocating
// at once; then release and garbage collection.
func TestConcurrentAllocatorsNeverDoubleAllocate(t *testing.T) {
	srv := etcdtest.Start(t)
	total := 10000
	if testing.Short() {
		total = 1000
	}
	const replicas = 2
	cidr := netip.MustParsePrefix("100.64.0.0/18")
	pools := []ipam.Range{{Start: netip.MustParseAddr("100.64.0.2"), End: netip.MustParseAddr("100.64.63.254")}}
	gw := netip.MustParseAddr("100.64.0.1")

	allocs := make([]*ipam.Allocator, replicas)
	for i := range allocs {
		a, err := ipam.NewAllocator("subnet-1", cidr, pools, gw, etcdstore.New(srv.Client(t), "/neutrino"))
		require.NoError(t, err)
		allocs[i] = a
	}
	got := make([][]netip.Addr, replicas)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for r := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range total / replicas {
				addr, err := allocs[r].AllocateNext(fmt.Sprintf("port-%d-%d", r, i))
				if !assert.NoError(t, err) {
					failed.Add(1)
					return
				}
				got[r] = append(got[r], addr)
			}
		}()
	}
	wg.Wait()
	require.Zero(t, failed.Load())

	seen := map[netip.Addr]int{}
	for r := range got {
		for _, a := range got[r] {
			seen[a]++
		}
	}
	require.Len(t, seen, total, "zero duplicates")
	for a, n := range seen {
		require.Equal(t, 1, n, "%s handed out %d times", a, n)
	}
	r, err := etcdstore.New(srv.Client(t), "/neutrino").Reservations("subnet-1")
	require.NoError(t, err)
	require.Len(t, r, total, "the store holds exactly what was handed out")

	// Release one replica's first address; GC the other replica's owners.
	require.NoError(t, allocs[0].Release(got[0][0]))
	freed, err := allocs[1].GC(func(owner string) bool { return owner[:7] != "port-1-" })
	require.NoError(t, err)
	require.Len(t, freed, total/replicas)
	r, err = etcdstore.New(srv.Client(t), "/neutrino").Reservations("subnet-1")
	require.NoError(t, err)
	require.Len(t, r, total/replicas-1)
}
