package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino"
)

func TestFileYieldsGoodLoadsAndRejectsBadOnesNamingTheFile(t *testing.T) {
	good, err := os.ReadFile("../examples/topologies/two-node-vxlan.json")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "topo.json")
	require.NoError(t, os.WriteFile(path, good, 0o600))
	f := &File{Path: path, Poll: 10 * time.Millisecond, Defaults: true}
	events := make(chan Event, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.Run(ctx, func(e Event) { events <- e }) }()
	defer func() { cancel(); <-done }()

	e := <-events
	require.NoError(t, e.Err)
	require.Equal(t, int64(1), e.Snapshot.Revision)
	require.Nil(t, e.Snapshot.Delta, "a file reload may change anything")
	require.Len(t, e.Snapshot.Topology().Ports, 4)

	require.NoError(t, os.WriteFile(path, []byte(`{"ports":[{"id":"p","fixed_ips":[{"ip_address":"x"}]}]}`), 0o600))
	e = <-events
	require.Nil(t, e.Snapshot)
	require.ErrorIs(t, e.Err, neutrino.ErrInvalid)
	require.ErrorContains(t, e.Err, path+": ports[0].fixed_ips[0].ip_address")
	st := f.Status()
	require.Equal(t, int64(1), st.Revision, "the last good revision stays")
	require.Error(t, st.Err)
	require.True(t, st.Connected)

	require.NoError(t, os.WriteFile(path, good, 0o600))
	e = <-events
	require.NoError(t, e.Err)
	require.Equal(t, int64(2), e.Snapshot.Revision)
	require.NoError(t, f.Status().Err)
}
