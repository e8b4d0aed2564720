package ipam

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
	"github.com/stretchr/testify/require"
)

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func TestSubnetPoolDecodesNeutronsStringPrefixLengths(t *testing.T) {
	// The shape of GET /v2.0/subnetpools/{id} (api-ref sample).
	const doc = `{
		"address_scope_id": null, "created_at": "2017-12-28T07:21:41Z",
		"default_prefixlen": "8", "default_quota": null, "description": "IPv4",
		"id": "d43a57fe-3390-4608-b437-b1307b0adb40", "ip_version": 4, "is_default": false,
		"max_prefixlen": "32", "min_prefixlen": "8", "name": "MyPoolIpv4",
		"prefixes": ["10.10.10.0/24", "10.11.11.0/24"], "shared": false
	}`
	var p SubnetPool
	require.NoError(t, json.Unmarshal([]byte(doc), &p))
	require.Equal(t, SubnetPool{
		ID: "d43a57fe-3390-4608-b437-b1307b0adb40", Name: "MyPoolIpv4",
		Prefixes:         prefixes("10.10.10.0/24", "10.11.11.0/24"),
		DefaultPrefixLen: 8, MinPrefixLen: 8, MaxPrefixLen: 32, IPVersion: 4,
	}, p)
	require.NoError(t, p.Validate())

	b, err := json.Marshal(p)
	require.NoError(t, err)
	var again SubnetPool
	require.NoError(t, json.Unmarshal(b, &again))
	require.Equal(t, p, again, "numbers round-trip too")

	err = json.Unmarshal([]byte(`{"id":"x","min_prefixlen":"eight"}`), &p)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	require.ErrorContains(t, err, "min_prefixlen")
}

func TestSubnetPoolPrefixLensDefaultAsNeutron(t *testing.T) {
	v4 := SubnetPool{Prefixes: prefixes("10.0.0.0/8")}
	minLen, defaultLen, maxLen := v4.PrefixLens()
	require.Equal(t, []int{8, 8, 32}, []int{minLen, defaultLen, maxLen})
	v6 := SubnetPool{Prefixes: prefixes("2001:db8::/32")}
	minLen, defaultLen, maxLen = v6.PrefixLens()
	require.Equal(t, []int{64, 64, 128}, []int{minLen, defaultLen, maxLen})
	require.Equal(t, 6, v6.Version())
	set := SubnetPool{Prefixes: prefixes("10.0.0.0/8"), MinPrefixLen: 16, MaxPrefixLen: 28}
	minLen, defaultLen, maxLen = set.PrefixLens()
	require.Equal(t, []int{16, 16, 28}, []int{minLen, defaultLen, maxLen})
}

func TestSubnetPoolValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		pool SubnetPool
		want string
	}{
		{"no id, no prefixes", SubnetPool{}, "id: an ID is required\nprefixes: at least one prefix is required"},
		{"host bits", SubnetPool{ID: "p", Prefixes: prefixes("10.0.0.1/24")}, "prefixes[0]: 10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?"},
		{"mixed families", SubnetPool{ID: "p", Prefixes: prefixes("10.0.0.0/24", "2001:db8::/64")}, "prefixes[1]: 2001:db8::/64 is not an IPv4 prefix"},
		{"version mismatch", SubnetPool{ID: "p", IPVersion: 6, Prefixes: prefixes("10.0.0.0/24")}, "prefixes[0]: 10.0.0.0/24 is not an IPv6 prefix"},
		{"bad version", SubnetPool{ID: "p", IPVersion: 5, Prefixes: prefixes("10.0.0.0/24")}, "ip_version: 5 is neither 4 nor 6"},
		{"overlap", SubnetPool{ID: "p", Prefixes: prefixes("10.1.0.0/16", "10.0.0.0/8", "10.2.0.0/24")},
			"prefixes[0]: 10.1.0.0/16 overlaps prefixes[1] 10.0.0.0/8\nprefixes[2]: 10.2.0.0/24 overlaps prefixes[1] 10.0.0.0/8"},
		{"min > default", SubnetPool{ID: "p", Prefixes: prefixes("10.0.0.0/8"), MinPrefixLen: 24, DefaultPrefixLen: 16}, "default_prefixlen: 16 is shorter than min_prefixlen 24"},
		{"default > max", SubnetPool{ID: "p", Prefixes: prefixes("10.0.0.0/8"), DefaultPrefixLen: 28, MaxPrefixLen: 24}, "max_prefixlen: 24 is shorter than default_prefixlen 28"},
		{"max > width", SubnetPool{ID: "p", Prefixes: prefixes("10.0.0.0/8"), MaxPrefixLen: 33}, "max_prefixlen: 33 is longer than an IPv4 address"},
		{"negative", SubnetPool{ID: "p", Prefixes: prefixes("10.0.0.0/8"), MinPrefixLen: -1}, "min_prefixlen: -1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.pool.Validate()
			require.ErrorIs(t, err, errdefs.ErrInvalid)
			require.EqualError(t, err, tc.want)
		})
	}
}

func TestCarveTakesTheBestFitLikeNeutron(t *testing.T) {
	pool := &SubnetPool{ID: "pool-1", Prefixes: prefixes("10.0.0.0/16"), DefaultPrefixLen: 24, MaxPrefixLen: 28}
	for _, tc := range []struct {
		name      string
		allocated []netip.Prefix
		prefixLen int
		want      string
	}{
		{"empty pool, default length", nil, 0, "10.0.0.0/24"},
		{"next to an allocation", prefixes("10.0.0.0/24"), 24, "10.0.1.0/24"},
		{"the hole left by a small subnet", prefixes("10.0.0.0/25", "10.0.2.0/24"), 26, "10.0.0.128/26"},
		{"the smallest hole that fits", prefixes("10.0.0.0/25", "10.0.2.0/24"), 24, "10.0.1.0/24"},
		{"a bigger block past the holes", prefixes("10.0.0.0/25", "10.0.2.0/24"), 22, "10.0.4.0/22"},
		{"allocations elsewhere do not count", prefixes("192.168.0.0/16", "2001:db8::/64"), 20, "10.0.0.0/20"},
		{"nested allocations", prefixes("10.0.0.0/17", "10.0.0.0/24"), 24, "10.0.128.0/24"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pool.Carve(tc.allocated, tc.prefixLen)
			require.NoError(t, err)
			require.Equal(t, tc.want, got.String())
			require.NoError(t, pool.CarveSpecific(tc.allocated, got), "what Carve picks, CarveSpecific accepts")
		})
	}

	// Adjacent prefixes are one block, as in Neutron's compacted IPSet.
	halves := &SubnetPool{ID: "halves", Prefixes: prefixes("10.0.0.128/25", "10.0.0.0/25"), MinPrefixLen: 24}
	got, err := halves.Carve(nil, 24)
	require.NoError(t, err)
	require.Equal(t, "10.0.0.0/24", got.String())
	require.NoError(t, halves.CarveSpecific(nil, got))

	// Neutron prefers a small free prefix over the first fit in a big one.
	two := &SubnetPool{ID: "pool-2", Prefixes: prefixes("10.0.0.0/16", "192.168.0.0/24")}
	got, err = two.Carve(nil, 24)
	require.NoError(t, err)
	require.Equal(t, "192.168.0.0/24", got.String())
}

func TestCarveFailsWithTheRightSentinel(t *testing.T) {
	pool := &SubnetPool{ID: "pool-1", Prefixes: prefixes("10.0.0.0/24"), MinPrefixLen: 24, MaxPrefixLen: 28}
	_, err := pool.Carve(prefixes("10.0.0.0/25", "10.0.0.128/26", "10.0.0.192/27", "10.0.0.224/28"), 28)
	require.NoError(t, err, "the last /28 is free")
	_, err = pool.Carve(prefixes("10.0.0.0/25", "10.0.0.128/25"), 26)
	require.ErrorIs(t, err, errdefs.ErrExhausted)
	require.ErrorContains(t, err, "pool-1")
	_, err = pool.Carve(nil, 30)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	require.ErrorContains(t, err, "prefixlen: subnetpool pool-1: /30 is outside its bounds /24 to /28")
	_, err = pool.Carve(nil, 16)
	require.ErrorIs(t, err, errdefs.ErrInvalid)
	_, err = (&SubnetPool{ID: "bad"}).Carve(nil, 24)
	require.ErrorIs(t, err, errdefs.ErrInvalid, "an invalid pool carves nothing")
}

func TestCarveIPv6(t *testing.T) {
	pool := &SubnetPool{ID: "v6", Prefixes: prefixes("2001:db8::/48")}
	got, err := pool.Carve(prefixes("2001:db8::/64"), 0)
	require.NoError(t, err)
	require.Equal(t, "2001:db8:0:1::/64", got.String())

	// The whole address space, to exercise the ends of 128-bit arithmetic.
	all := &SubnetPool{ID: "all", Prefixes: prefixes("::/0"), MinPrefixLen: 1}
	got, err = all.Carve(prefixes("::/1"), 64)
	require.NoError(t, err)
	require.Equal(t, "8000::/64", got.String())
	got, err = all.Carve(prefixes("::/1", "8000::/2", "c000::/2"), 1)
	require.ErrorIs(t, err, errdefs.ErrExhausted, got.String())
	got, err = all.Carve(prefixes("::/1", "8000::/2"), 2)
	require.NoError(t, err)
	require.Equal(t, "c000::/2", got.String())
	got, err = all.Carve(prefixes("::/1", "8000::/2", "c000::/3", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"), 128)
	require.NoError(t, err)
	require.Equal(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/128", got.String(),
		"the best fit is the smallest free block, the /127 just below the allocated one")
}

func TestCarveSpecific(t *testing.T) {
	pool := &SubnetPool{ID: "pool-1", Prefixes: prefixes("10.0.0.0/16", "172.16.0.0/24"), MinPrefixLen: 16, MaxPrefixLen: 28}
	allocated := prefixes("10.0.1.0/24")
	require.NoError(t, pool.CarveSpecific(allocated, netip.MustParsePrefix("10.0.2.0/24")))
	require.NoError(t, pool.CarveSpecific(allocated, netip.MustParsePrefix("172.16.0.16/28")))
	for _, tc := range []struct {
		want     string
		sentinel error
		msg      string
	}{
		{"10.0.1.128/25", errdefs.ErrConflict, "cidr: subnetpool pool-1: 10.0.1.128/25 overlaps allocated 10.0.1.0/24"},
		{"10.0.0.0/16", errdefs.ErrConflict, "overlaps allocated 10.0.1.0/24"},
		{"10.1.0.0/24", errdefs.ErrInvalid, "is not inside its prefixes"},
		{"172.16.0.0/23", errdefs.ErrInvalid, "is not inside its prefixes"},
		{"10.0.2.0/29", errdefs.ErrInvalid, "is outside its bounds /16 to /28"},
		{"10.0.0.0/8", errdefs.ErrInvalid, "is outside its bounds"},
		{"10.0.2.5/24", errdefs.ErrInvalid, "is not a network prefix"},
		{"2001:db8::/64", errdefs.ErrInvalid, "is not an IPv4 prefix"},
	} {
		err := pool.CarveSpecific(allocated, netip.MustParsePrefix(tc.want))
		require.ErrorIs(t, err, tc.sentinel, tc.want)
		require.ErrorContains(t, err, tc.msg)
	}
}
