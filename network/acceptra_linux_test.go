package network

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/neutrino-net/neutrino/internal/lab"
)

// Tenant routers advertise on the networks: the node's bridges must not
// take addresses or a default route from those RAs.
func TestBridgesIgnoreRouterAdvertisements(t *testing.T) {
	l := lab.New(t)
	host := l.Namespace("host")
	r := newRealizer(t, host)
	apply(t, r, Desired{Networks: []Network{{ID: netB, NetworkType: TypeLocal, MTU: 1400}}})
	got, err := host.ReadSysctl("net.ipv6.conf.brqbbbbbbbb-22.accept_ra")
	require.NoError(t, err)
	require.Equal(t, "0", got)
}
