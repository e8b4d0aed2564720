package router

import (
	"net/netip"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetadataChainsOnlyWithPortAndInternalInterface(t *testing.T) {
	gw := &ifaceSpec{Name: "qg-1", Gateway: true}
	qr := &ifaceSpec{Name: "qr-1"}
	run := func(port uint16, ifaces ...*ifaceSpec) *routerRun {
		r := &Realizer{opt: defaultOptions()}
		r.opt.metadataPort = port
		return &routerRun{r: r, spec: &routerSpec{Ifaces: ifaces}}
	}
	assert.Empty(t, run(0, gw, qr).metadataChains(), "redirect without WithMetadataPort")
	assert.Empty(t, run(9697, gw).metadataChains(), "redirect on a router without internal interfaces")

	chains := run(9697, gw, qr).metadataChains()
	assert.Equal(t, map[string][]string{
		"metadata":       {"metadata 169.254.169.254:80 redirect :9697"},
		"metadata-input": {"metadata :9697 only redirected"},
	}, comments(chains))
	require.Len(t, chains, 2)
	assert.Equal(t, nftables.ChainHookPrerouting, chains[0].hook)
	assert.Less(t, int(*chains[0].prio), int(*nftables.ChainPriorityNATDest), "redirect before the floating IPs' dnat")
	// qr-* is a prefix match: the comparison covers "qr-" alone.
	var prefix []byte
	for _, e := range chains[0].rules[0].exprs {
		if c, ok := e.(*expr.Cmp); ok && len(c.Data) == 3 {
			prefix = c.Data
		}
	}
	assert.Equal(t, "qr-", string(prefix))
	// An internal interface on an IPv6 subnet adds the fe80::a9fe:a9fe
	// redirect; an IPv6 gateway alone does not.
	qr6 := &ifaceSpec{Name: "qr-2", Subnets: []netip.Prefix{netip.MustParsePrefix("2001:db8::/64")}}
	gw6 := &ifaceSpec{Name: "qg-1", Gateway: true, Subnets: []netip.Prefix{netip.MustParsePrefix("2001:db8:f::/64")}}
	assert.Equal(t, comments(chains), comments(run(9697, gw6, qr).metadataChains()))
	assert.Equal(t, []string{"metadata 169.254.169.254:80 redirect :9697", "metadata [fe80::a9fe:a9fe]:80 redirect :9697"},
		comments(run(9697, gw, qr, qr6).metadataChains())["metadata"])
	// Another port is another rule: the chain is rewritten, not added to.
	assert.NotEqual(t, comments(chains), comments(run(9000, gw, qr).metadataChains()))
}
