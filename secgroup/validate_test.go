package secgroup

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func ptr(v int) *int { return &v }

func sshRule() Rule {
	return Rule{ID: "r-ssh", Direction: Ingress, Ethertype: IPv4, Protocol: "tcp",
		PortRangeMin: ptr(22), PortRangeMax: ptr(22), RemoteIPPrefix: netip.MustParsePrefix("0.0.0.0/0")}
}

func TestRuleValidateAccepts(t *testing.T) {
	for name, r := range map[string]Rule{
		"ssh":             sshRule(),
		"any egress":      {ID: "r", Direction: Egress, Ethertype: IPv6},
		"any by name":     {ID: "r", Direction: Egress, Ethertype: IPv4, Protocol: "any"},
		"icmp type only":  {ID: "r", Direction: Ingress, Ethertype: IPv4, Protocol: "icmp", PortRangeMin: ptr(8)},
		"icmp type code":  {ID: "r", Direction: Ingress, Ethertype: IPv4, Protocol: "1", PortRangeMin: ptr(3), PortRangeMax: ptr(4)},
		"icmp under IPv6": {ID: "r", Direction: Ingress, Ethertype: IPv6, Protocol: "icmp", PortRangeMin: ptr(128), PortRangeMax: ptr(0)},
		"ipv6-icmp":       {ID: "r", Direction: Ingress, Ethertype: IPv6, Protocol: "ipv6-icmp", RemoteIPPrefix: netip.MustParsePrefix("2001:db8::/32")},
		"udp range":       {ID: "r", Direction: Ingress, Ethertype: IPv4, Protocol: "17", PortRangeMin: ptr(1), PortRangeMax: ptr(65535)},
		"sctp":            {ID: "r", Direction: Ingress, Ethertype: IPv4, Protocol: "sctp", PortRangeMin: ptr(9), PortRangeMax: ptr(9)},
		"gre":             {ID: "r", Direction: Ingress, Ethertype: IPv4, Protocol: "gre"},
		"number 255":      {ID: "r", Direction: Ingress, Ethertype: IPv4, Protocol: "255"},
		"remote group":    {ID: "r", Direction: Ingress, Ethertype: IPv4, RemoteGroupID: "g"},
		"address group":   {ID: "r", Direction: Ingress, Ethertype: IPv4, RemoteAddressGroupID: "ag"},
	} {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestRuleValidateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Rule)
		path   string
	}{
		{"no id", func(r *Rule) { r.ID = "" }, "id: required"},
		{"direction", func(r *Rule) { r.Direction = "in" }, `direction: "in" is not ingress or egress`},
		{"ethertype case", func(r *Rule) { r.Ethertype = "ipv4" }, `ethertype: "ipv4" is not IPv4 or IPv6`},
		{"protocol name", func(r *Rule) { r.Protocol = "TCP" }, `protocol: "TCP" is not a protocol name`},
		{"protocol number", func(r *Rule) { r.Protocol = "256" }, `protocol: "256"`},
		{"protocol negative", func(r *Rule) { r.Protocol = "-1" }, `protocol: "-1"`},
		{"ipv6-icmp with IPv4", func(r *Rule) { r.Protocol, r.PortRangeMin, r.PortRangeMax = "ipv6-icmp", nil, nil }, "protocol: ipv6-icmp is an IPv6 protocol"},
		{"58 with IPv4", func(r *Rule) { r.Protocol, r.PortRangeMin, r.PortRangeMax = "58", nil, nil }, "protocol: 58 is an IPv6 protocol"},
		{"ports without protocol", func(r *Rule) { r.Protocol = "" }, "port_range_min: ports need a protocol"},
		{"ports with any", func(r *Rule) { r.Protocol = "any" }, "port_range_min: ports need a protocol"},
		{"min above max", func(r *Rule) { r.PortRangeMin = ptr(80) }, "port_range_max: 22 is below port_range_min 80"},
		{"port 0", func(r *Rule) { r.PortRangeMin = ptr(0) }, "port_range_min: port 0 is outside 1..65535"},
		{"port 65536", func(r *Rule) { r.PortRangeMax = ptr(65536) }, "port_range_max: port 65536 is outside"},
		{"tcp max only", func(r *Rule) { r.PortRangeMin = nil }, "port_range_min: required for protocol tcp"},
		{"ports on gre", func(r *Rule) { r.Protocol = "gre" }, "port_range_min: protocol gre has no ports"},
		{"max only on gre", func(r *Rule) { r.Protocol, r.PortRangeMin = "47", nil }, "port_range_max: protocol 47 has no ports"},
		{"icmp type 256", func(r *Rule) { r.Protocol, r.PortRangeMin, r.PortRangeMax = "icmp", ptr(256), nil }, "port_range_min: ICMP type 256 is outside 0..255"},
		{"icmp code 256", func(r *Rule) { r.Protocol, r.PortRangeMin, r.PortRangeMax = "icmp", ptr(3), ptr(256) }, "port_range_max: ICMP code 256 is outside 0..255"},
		{"icmp code without type", func(r *Rule) { r.Protocol, r.PortRangeMin, r.PortRangeMax = "icmp", nil, ptr(0) }, "port_range_min: ICMP code 0 is given without a type"},
		{"two remotes", func(r *Rule) { r.RemoteGroupID = "g" }, "remote_group_id: only one of remote_ip_prefix, remote_group_id and remote_address_group_id"},
		{"group and address group", func(r *Rule) { r.RemoteIPPrefix, r.RemoteGroupID, r.RemoteAddressGroupID = netip.Prefix{}, "g", "a" }, "remote_address_group_id: only one of"},
		{"prefix family", func(r *Rule) { r.RemoteIPPrefix = netip.MustParsePrefix("::/0") }, "remote_ip_prefix: ::/0 does not match ethertype IPv4"},
	} {
		r := sshRule()
		tc.mutate(&r)
		if err := r.Validate(); !errors.Is(err, errdefs.ErrInvalid) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want ErrInvalid at %q", tc.name, err, tc.path)
		}
	}
}

// Neutron accepts remote_ip_prefix with host bits and matches the network
// it names; its API returns it normalized, and so does decoding.
func TestRemotePrefixWithHostBits(t *testing.T) {
	r := sshRule()
	r.RemoteIPPrefix = netip.MustParsePrefix("10.0.0.5/24")
	if err := r.Validate(); err != nil {
		t.Fatalf("host bits refused: %v", err)
	}
	var dec Rule
	in := `{"id": "r", "direction": "ingress", "ethertype": "IPv4", "remote_ip_prefix": "10.0.0.5/24"}`
	if err := json.Unmarshal([]byte(in), &dec); err != nil || dec.RemoteIPPrefix != netip.MustParsePrefix("10.0.0.0/24") {
		t.Errorf("decoded %v, %v; want 10.0.0.0/24", dec.RemoteIPPrefix, err)
	}
	if b, _ := json.Marshal(dec); !strings.Contains(string(b), `"remote_ip_prefix":"10.0.0.0/24"`) {
		t.Errorf("reported as %s", b)
	}
	// Two rules naming one network are one rule, as in Neutron.
	canonical := r
	canonical.ID, canonical.RemoteIPPrefix = "r2", netip.MustParsePrefix("10.0.0.0/24")
	g := SecurityGroup{ID: "g", Rules: []Rule{r, canonical}}
	if err := g.Validate(); !errors.Is(err, errdefs.ErrConflict) || !strings.Contains(err.Error(), "security_group_rules[1]: rule r2 duplicates") {
		t.Errorf("duplicate by network: %v", err)
	}
}

func TestGroupValidate(t *testing.T) {
	g := DefaultGroup("sg")
	g.Rules = append(g.Rules, sshRule())
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*SecurityGroup)
		kind   error
		path   string
	}{
		{"no id", func(g *SecurityGroup) { g.ID = "" }, errdefs.ErrInvalid, "id: required"},
		{"bad rule", func(g *SecurityGroup) { g.Rules[4].Direction = "" }, errdefs.ErrInvalid, "security_group_rules[4].direction:"},
		{"foreign rule", func(g *SecurityGroup) { g.Rules[4].SecurityGroupID = "other" }, errdefs.ErrInvalid, "security_group_rules[4].security_group_id: other is not the ID"},
		{"rule id twice", func(g *SecurityGroup) { g.Rules[4].ID = g.Rules[0].ID }, errdefs.ErrConflict, "security_group_rules[4].id: sg-egress-ipv4 repeats"},
		{"duplicate rule", func(g *SecurityGroup) {
			d := sshRule()
			d.ID, d.Protocol, d.RemoteIPPrefix = "r-ssh-2", "6", netip.Prefix{} // 0.0.0.0/0 and none are one remote
			g.Rules = append(g.Rules, d)
		}, errdefs.ErrConflict, "security_group_rules[5]: rule r-ssh-2 duplicates security_group_rules[4] (r-ssh)"},
		{"icmp and 1 under IPv6", func(g *SecurityGroup) {
			g.Rules = append(g.Rules,
				Rule{ID: "a", Direction: Ingress, Ethertype: IPv6, Protocol: "icmp"},
				Rule{ID: "b", Direction: Ingress, Ethertype: IPv6, Protocol: "ipv6-icmp"})
		}, errdefs.ErrConflict, "security_group_rules[6]: rule b duplicates"},
	} {
		g := DefaultGroup("sg")
		g.Rules = append(g.Rules, sshRule())
		tc.mutate(&g)
		if err := g.Validate(); !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want %v at %q", tc.name, err, tc.kind, tc.path)
		}
	}
}

func TestAddressGroupValidate(t *testing.T) {
	ok := AddressGroup{ID: "ag", Addresses: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/48")}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := AddressGroup{Addresses: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24"), {}, netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")}}
	err := bad.Validate()
	for _, want := range []string{"id: required", "addresses[0]: 198.51.100.1/24 has host bits", "addresses[1]: a CIDR is required", "addresses[3]: 10.0.0.0/8 repeats addresses[2]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not say %q", err, want)
		}
	}
	if !errors.Is(err, errdefs.ErrConflict) || !errors.Is(err, errdefs.ErrInvalid) {
		t.Errorf("sentinels: %v", err)
	}
}

func TestProtocolNumber(t *testing.T) {
	for _, tc := range []struct {
		p         Protocol
		ethertype string
		num       uint8
		any, bad  bool
	}{
		{"", IPv4, 0, true, false},
		{"any", IPv6, 0, true, false},
		{"tcp", IPv4, 6, false, false},
		{"icmp", IPv4, 1, false, false},
		{"icmp", IPv6, 58, false, false},
		{"1", IPv6, 58, false, false},
		{"icmpv6", IPv6, 58, false, false},
		{"ipv6-icmp", IPv6, 58, false, false},
		{"vrrp", IPv4, 112, false, false},
		{"0", IPv4, 0, false, false},
		{"007", IPv4, 0, false, true},
		{"Tcp", IPv4, 0, false, true},
		{"300", IPv4, 0, false, true},
	} {
		num, any, err := tc.p.Number(tc.ethertype)
		if num != tc.num || any != tc.any || (err != nil) != tc.bad {
			t.Errorf("%q/%s: %d %v %v", tc.p, tc.ethertype, num, any, err)
		}
	}
	var p Protocol
	if err := json.Unmarshal([]byte(`6`), &p); err != nil || p != "6" {
		t.Errorf("number form: %q %v", p, err)
	}
}

func FuzzRuleValidate(f *testing.F) {
	f.Add(`{"id":"r","direction":"ingress","ethertype":"IPv4","protocol":"tcp","port_range_min":22,"port_range_max":22,"remote_ip_prefix":"0.0.0.0/0"}`)
	f.Add(`{"id":"r","direction":"ingress","ethertype":"IPv6","protocol":1,"port_range_max":0,"remote_group_id":"g","remote_address_group_id":"a"}`)
	f.Add(`{"id":"r","security_group_id":"g","direction":"egress","ethertype":"IPv4","remote_ip_prefix":"10.0.0.5/24"}`)
	f.Add(`{"id":"r","direction":"egress","ethertype":"IPv6","remote_ip_prefix":"2001:db8::5/64"}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var r Rule
		if json.Unmarshal([]byte(doc), &r) != nil {
			return
		}
		if r.RemoteIPPrefix.IsValid() && r.RemoteIPPrefix != r.RemoteIPPrefix.Masked() {
			t.Fatalf("decoded remote_ip_prefix %s is not normalized", r.RemoteIPPrefix)
		}
		err := r.Validate()
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		if err != nil {
			return
		}
		num, any, perr := r.Protocol.Number(r.Ethertype)
		if perr != nil {
			t.Fatalf("valid rule with bad protocol %q", r.Protocol)
		}
		if r.PortRangeMin != nil || r.PortRangeMax != nil {
			if any || !(HasPorts(num) || IsICMP(num)) {
				t.Fatalf("ports accepted on protocol %q", r.Protocol)
			}
		}
	})
}
