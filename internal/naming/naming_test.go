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
