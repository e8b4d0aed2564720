package naming

import "testing"

func TestNamesFitIFNAMSIZ(t *testing.T) {
	id := "54c9cd83-4321-4c8e-9b3a-0123456789ab"
	cases := map[string]string{
		Bridge(id):          "brq54c9cd83-43",
		Tap(id):             "tap54c9cd83-43",
		RouterInterface(id): "qr-54c9cd83-43",
		RouterGateway(id):   "qg-54c9cd83-43",
		DHCPInterface(id):   "ns-54c9cd83-43",
		VXLAN(16777215):     "vxlan-16777215",
		Tap("short"):        "tapshort",
	}
	for got, want := range cases {
		if got != want || len(got) > 15 {
			t.Errorf("got %q want %q", got, want)
		}
	}
	if RouterNamespace(id) != "qrouter-"+id || DHCPNamespace(id) != "qdhcp-"+id {
		t.Error("namespace names must keep the whole ID")
	}
}

func TestValidIfName(t *testing.T) {
	for name, ok := range map[string]bool{
		"eth0": true, "tap0123456789ab": true, "vxlan-101": true,
		"": false, ".": false, "..": false, "tap0123456789abc": false,
		"a/b": false, "a:b": false, "a b": false, "a\tb": false, "a\x00": false,
	} {
		if ValidIfName(name) != ok {
			t.Errorf("ValidIfName(%q) = %t, want %t", name, !ok, ok)
		}
	}
}

func TestParseOwnerReadsWhatOwnerAliasWrites(t *testing.T) {
	if k, id, ok := ParseOwner(OwnerAlias("bridge", "n1")); !ok || k != "bridge" || id != "n1" {
		t.Fatal(k, id, ok)
	}
	if k, id, ok := ParseOwner("neutrino:port:abc"); !ok || k != "port" || id != "abc" {
		t.Fatal(k, id, ok)
	}
	for _, a := range []string{"", "port:abc", "neutrino:", "neutrino:port", "neutrino::x"} {
		if _, _, ok := ParseOwner(a); ok {
			t.Errorf("%q parsed as ours", a)
		}
	}
}
