package ipam

import (
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stores lists every Store implementation under the same contract.
func stores(t *testing.T) map[string]func() Store {
	dir := t.TempDir()
	n := 0
	return map[string]func() Store{
		"memory": func() Store { return &MemoryStore{} },
		"file": func() Store {
			n++
			s, err := OpenFileStore(filepath.Join(dir, "store", string(rune('a'+n))))
			require.NoError(t, err)
			return s
		},
	}
}

func TestStoreContract(t *testing.T) {
	a4, a6 := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("2001:db8::5")
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
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

			r, err = s.Reservations("net-a")
			require.NoError(t, err)
			require.Equal(t, map[netip.Addr]string{a4: "port-1", a6: "port-1"}, r)
			r[a4] = "mutated"
			r, _ = s.Reservations("net-a")
			require.Equal(t, "port-1", r[a4], "the map returned is the caller's")

			require.NoError(t, s.Release("net-a", a4, netip.MustParseAddr("10.9.9.9")))
			require.NoError(t, s.Release("net-unknown", a4))
			r, _ = s.Reservations("net-a")
			require.Equal(t, map[netip.Addr]string{a6: "port-1"}, r)
		})
	}
}

func TestStoreReserveIsExclusiveUnderContention(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open()
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := s.Reserve("net", netip.MustParseAddr("10.0.0.9"), string(rune('a'+i)))
					assert.NoError(t, err)
					if ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			require.Equal(t, int32(1), wins.Load())
		})
	}
}

func TestFileStoreSurvivesReopenAndIgnoresForeignFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFileStore(dir)
	require.NoError(t, err)
	a6 := netip.MustParseAddr("2001:db8::f816:3eff:fe12:3456")
	_, err = s.Reserve("subnet-1", a6, "port-x")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, "subnet-1", "2001_db8__f816_3eff_fe12_3456"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "subnet-1", "README"), []byte("not ours"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "subnet-1", ".reserve-123"), []byte("half done"), 0o600))

	s2, err := OpenFileStore(dir)
	require.NoError(t, err)
	r, err := s2.Reservations("subnet-1")
	require.NoError(t, err)
	require.Equal(t, map[netip.Addr]string{a6: "port-x"}, r)
	entries, _ := os.ReadDir(filepath.Join(dir, "subnet-1"))
	require.Len(t, entries, 3, "no temporary file is left behind, foreign files are kept")
}

func TestFileStoreRefusesIDsThatEscapeItsDirectory(t *testing.T) {
	s, err := OpenFileStore(t.TempDir())
	require.NoError(t, err)
	for _, id := range []string{"", "..", ".hidden", "a/b", `a\b`, "../x"} {
		_, err := s.Reserve(id, netip.MustParseAddr("10.0.0.1"), "o")
		require.ErrorIs(t, err, errdefs.ErrInvalid, id)
		_, err = s.Reservations(id)
		require.ErrorIs(t, err, errdefs.ErrInvalid, id)
	}
	_, err = s.Reserve("ok", netip.Addr{}, "o")
	require.ErrorIs(t, err, errdefs.ErrInvalid)
}
