package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/source/etcd/etcdtest"
)

func TestGeneratedTopologyValidates(t *testing.T) {
	topo, err := generate(shape{Hosts: 1000, PortsPerHost: 10, HostsPerNet: 10})
	require.NoError(t, err)
	require.Len(t, topo.Ports, 10000)
	require.Len(t, topo.Networks, 100)
	_, err = generate(shape{Hosts: 10, PortsPerHost: 30, HostsPerNet: 10})
	require.Error(t, err, "300 ports do not fit a /24")
}

// TestSimulationKeepsEverySliceExactAndReslicesOnlyConcernedNodes runs a
// small simulation against a real etcd, with and without sharing: every
// node's slice must equal the full document's, and each change must make
// exactly the nodes of the port's network re-slice.
func TestSimulationKeepsEverySliceExactAndReslicesOnlyConcernedNodes(t *testing.T) {
	etcdtest.Binary(t)
	for _, shared := range []bool{true, false} {
		o := options{shape: shape{Hosts: 30, PortsPerHost: 3, HostsPerNet: 5}, changes: 6, clients: 7,
			startConcurrency: 4, shared: shared, prefix: "/sim"}
		res, err := simulate(context.Background(), t, o, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		require.Equal(t, 30, res.SlicesEqual)
		require.Zero(t, res.Missed)
		require.Equal(t, 5.0, res.ConcernedPerChange)
		require.Equal(t, 5.0, res.ReslicedPerChange, "nodes on other networks do not re-slice")
		require.Equal(t, 30, res.Samples)
	}
}
