package ipam

import (
	"encoding/json"
	"math/big"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/stretchr/testify/require"
)

func TestRangeContains(t *testing.T) {
	r := rng("10.0.0.10", "10.0.0.20")
	for addr, want := range map[string]bool{
		"10.0.0.10": true, "10.0.0.15": true, "10.0.0.20": true,
		"10.0.0.9": false, "10.0.0.21": false, "::ffff:10.0.0.15": false, "2001:db8::": false,
	} {
		require.Equal(t, want, r.Contains(netip.MustParseAddr(addr)), addr)
	}
	require.False(t, rng("10.0.0.20", "10.0.0.10").Contains(netip.MustParseAddr("10.0.0.15")), "a reversed range holds nothing")
	require.False(t, Range{}.Contains(netip.Addr{}))
}

func TestRangeOverlaps(t *testing.T) {
	a := rng("10.0.0.10", "10.0.0.20")
	for _, tc := range []struct {
		b    Range
		want bool
	}{
		{rng("10.0.0.20", "10.0.0.30"), true},
		{rng("10.0.0.1", "10.0.0.10"), true},
		{rng("10.0.0.12", "10.0.0.13"), true},
		{rng("10.0.0.1", "10.0.0.99"), true},
		{rng("10.0.0.21", "10.0.0.30"), false},
		{rng("10.0.0.1", "10.0.0.9"), false},
		{rng("::a00:a", "::a00:14"), false},
	} {
		require.Equal(t, tc.want, a.Overlaps(tc.b), tc.b.String())
		require.Equal(t, tc.want, tc.b.Overlaps(a), tc.b.String())
	}
}

func TestRangeSizeIsExactBeyondUint64(t *testing.T) {
	require.Equal(t, "253", rng("10.0.0.2", "10.0.0.254").Size().String())
	require.Equal(t, "1", rng("10.0.0.2", "10.0.0.2").Size().String())
	require.Equal(t, "0", rng("10.0.0.3", "10.0.0.2").Size().String())
	all64 := new(big.Int).Lsh(big.NewInt(1), 64)
	require.Equal(t, all64.String(), rng("2001:db8::", "2001:db8::ffff:ffff:ffff:ffff").Size().String())
	all128 := new(big.Int).Lsh(big.NewInt(1), 128)
	require.Equal(t, all128.String(), rng("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").Size().String())
}

func TestRangeValidate(t *testing.T) {
	require.NoError(t, rng("10.0.0.1", "10.0.0.1").Validate())
	for _, tc := range []struct {
		r    Range
		want string
	}{
		{Range{}, "start: an IP address is required\nend: an IP address is required"},
		{rng("10.0.0.2", "10.0.0.1"), "end: 10.0.0.1 comes before start 10.0.0.2"},
		{rng("10.0.0.1", "::1"), "end: ::1 is not of the family of start 10.0.0.1"},
		{rng("fe80::1%eth0", "fe80::2"), "start: fe80::1%eth0: a pool address cannot carry a zone"},
	} {
		err := tc.r.Validate()
		require.ErrorIs(t, err, errdefs.ErrInvalid)
		require.EqualError(t, err, tc.want)
	}
}

func TestRangeJSONUsesNeutronNames(t *testing.T) {
	b, err := json.Marshal(rng("10.0.0.2", "10.0.0.254"))
	require.NoError(t, err)
	require.JSONEq(t, `{"start":"10.0.0.2","end":"10.0.0.254"}`, string(b))
	var r Range
	require.NoError(t, json.Unmarshal([]byte(`{"start":"2001:db8::2","end":"2001:db8::ff"}`), &r))
	require.Equal(t, rng("2001:db8::2", "2001:db8::ff"), r)
	require.Error(t, json.Unmarshal([]byte(`{"start":"10.0.1.300","end":"10.0.0.1"}`), &r))
}
