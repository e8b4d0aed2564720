package ra

import (
	"testing"

	"github.com/mdlayher/ndp"
)

// BenchmarkAdvertMarshal is the decision and encoding of one RA with two
// prefixes, RDNSS and DNSSL: the CPU each periodic or solicited RA costs.
func BenchmarkAdvertMarshal(b *testing.B) {
	l := link(pfx("2001:db8:1::/64", SLAAC, "2001:db8::53"), pfx("2001:db8:2::/64", DHCPv6Stateful))
	t := DefaultTiming()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ndp.MarshalMessage(Advert(l, t)); err != nil {
			b.Fatal(err)
		}
	}
}
