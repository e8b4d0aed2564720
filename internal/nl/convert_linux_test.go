package nl

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func TestConversionsRoundTrip(t *testing.T) {
	for _, s := range []string{"198.51.100.7/24", "2001:db8::5/64", "0.0.0.0/0", "::/0"} {
		p := netip.MustParsePrefix(s)
		if got := Prefix(IPNet(p)); got != p {
			t.Errorf("%s: round trip gave %s", s, got)
		}
	}
	if IPNet(netip.Prefix{}) != nil || Prefix(nil).IsValid() {
		t.Error("the zero prefix is nil, and back")
	}
	if a := Addr(netip.MustParsePrefix("2001:db8::5/64")); a.Flags&unix.IFA_F_NODAD == 0 {
		t.Error("an IPv6 address must skip DAD")
	}
	if a := Addr(netip.MustParsePrefix("198.51.100.7/24")); a.Flags != 0 || a.IPNet.String() != "198.51.100.7/24" {
		t.Errorf("IPv4 address: %+v", a)
	}
}
