package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino"
	"github.com/neutrino-net/neutrino/source/etcd/etcdtest"
)

func TestPutThenGetGivesTheDocumentBackAndAnInvalidOneWritesNothing(t *testing.T) {
	srv := etcdtest.Start(t)
	o := options{endpoints: srv.Endpoint(), prefix: "/w", topology: "../topologies/two-node-vxlan.json", defaults: true}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), "put", o, &out))
	require.True(t, strings.HasPrefix(out.String(), "revision "), out.String())

	out.Reset()
	require.NoError(t, run(context.Background(), "get", o, &out))
	got, err := neutrino.Load(&out)
	require.NoError(t, err)
	want, err := neutrino.LoadFile(o.topology)
	require.NoError(t, err)
	want.Defaults()
	require.ElementsMatch(t, want.Ports, got.Ports)
	require.Equal(t, want.Hosts, got.Hosts)

	// A document whose port names a subnet that is not there: refused,
	// naming the field, and the stored state is unchanged.
	raw, err := os.ReadFile(o.topology)
	require.NoError(t, err)
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, bytes.Replace(raw, []byte(`"subnet_id": "87660787`), []byte(`"subnet_id": "00000000`), 1), 0o600))
	o.topology = bad
	err = run(context.Background(), "put", o, &out)
	require.ErrorIs(t, err, neutrino.ErrNotFound)
	require.ErrorContains(t, err, "fixed_ips[0].subnet_id")
	out.Reset()
	require.NoError(t, run(context.Background(), "get", o, &out))
	again, err := neutrino.Load(&out)
	require.NoError(t, err)
	require.Equal(t, got, again)
}
