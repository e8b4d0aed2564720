package neutrino

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLoadNamesTheMalformedField(t *testing.T) {
	for _, tc := range []struct{ doc, path, msg string }{
		{`{"subnets":[{},{"cidr":"10.0.1.300/24"}]}`, "subnets[1].cidr: ", "10.0.1.300"},
		{`{"subnets":[{"allocation_pools":[{"start":"10.0.1.2","end":"10.0.1.9"},{"start":"10.0.1.300","end":"10.0.1.9"}]}]}`, "subnets[0].allocation_pools[1].start: ", "10.0.1.300"},
		{`{"subnets":[{"gateway_ip":"x"}]}`, "subnets[0].gateway_ip: ", ""},
		{`{"subnets":[{"gateway_ip":5}]}`, "subnets[0].gateway_ip: ", ""},
		{`{"subnets":[{"ip_version":"4"}]}`, "subnets[0].ip_version: ", ""},
		{`{"subnets":[{"host_routes":[{"destination":"0.0.0.0/0","nexthop":"gw"}]}]}`, "subnets[0].host_routes[0].nexthop: ", ""},
		{`{"networks":[{"id":"n"},{"provider:segmentation_id":"101"}]}`, "networks[1].provider:segmentation_id: ", ""},
		{`{"networks":[{"router:external":"yes"}]}`, "networks[0].router:external: ", ""},
		{`{"ports":[{"mac_address":"fa:16:3e:00:00"}]}`, "ports[0].mac_address: ", ""},
		{`{"ports":[{"fixed_ips":[{"ip_address":"10.0.0.1"},{"ip_address":"::g"}]}]}`, "ports[0].fixed_ips[1].ip_address: ", ""},
		{`{"ports":[{"allowed_address_pairs":[{"ip_address":"10.0.0.0/33"}]}]}`, "ports[0].allowed_address_pairs[0].ip_address: ", ""},
		{`{"ports":[{"binding:profile":{"netns":7}}]}`, "ports[0].binding:profile.netns: ", ""},
		{`{"ports":[{"security_groups":"sg"}]}`, "ports[0].security_groups: ", ""},
		{`{"routers":[{"external_gateway_info":{"enable_snat":"no"}}]}`, "routers[0].external_gateway_info.enable_snat: ", ""},
		{`{"floatingips":[{"floating_ip_address":"203.0.113.1/32"}]}`, "floatingips[0].floating_ip_address: ", ""},
		{`{"security_groups":[{"security_group_rules":[{"protocol":{"name":"tcp"}}]}]}`, "security_groups[0].security_group_rules[0].protocol: ", ""},
		{`{"security_groups":[{"security_group_rules":[{},{"port_range_min":"22"}]}]}`, "security_groups[0].security_group_rules[1].port_range_min: ", ""},
		{`{"security_groups":[{"security_group_rules":[{"remote_ip_prefix":"0.0.0.0"}]}]}`, "security_groups[0].security_group_rules[0].remote_ip_prefix: ", ""},
		{`{"address_groups":[{"addresses":["198.51.100.0/24", 5]}]}`, "address_groups[0].addresses[1]: ", ""},
		{`{"subnetpools":[{"min_prefixlen":"x"}]}`, "subnetpools[0]", ""},
		{`{"bgp_speakers":[{"local_as":-1}]}`, "bgp_speakers[0].local_as: ", ""},
		{`{"bgp_speakers":[{"local_as":4294967296}]}`, "bgp_speakers[0].local_as: ", ""},
		{`{"bgp_peers":[{"peer_ip":"peer"}]}`, "bgp_peers[0].peer_ip: ", ""},
		{`{"hosts":[{"name":"a"},{"name":"b","tunnel_ip":"198.18.0.300"}]}`, "hosts[1].tunnel_ip: ", ""},
		{`{"hosts":{"name":"a"}}`, "hosts: ", ""},
		{`{"HOSTS":[{"NAME":1}]}`, "HOSTS[0].NAME: ", ""}, // encoding/json matches keys without case; so do the paths
		{`[]`, "topology: ", ""},
		{`"x"`, "topology: ", ""},
	} {
		_, err := Load(strings.NewReader(tc.doc))
		if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s:\n got %v\nwant ErrInvalid starting %q", tc.doc, err, tc.path)
		}
	}
}

func TestLoadSyntaxErrorsGiveThePosition(t *testing.T) {
	for doc, want := range map[string]string{
		"{\n  \"networks\": [\n    {\"id\": \"n\",}\n  ]\n}": "line 3, column 16",
		"{\"networks\": [": "line 1, column 14",
		"":                 "line 1, column 1",
		"{} {}":            "line 1, column 4",
	} {
		_, err := Load(strings.NewReader(doc))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %s", doc, err, want)
		}
	}
}

func TestLoadIgnoresUnknownFields(t *testing.T) {
	topo, err := Load(strings.NewReader(`{"networks":[{"id":"n","status":"ACTIVE","tags":["a"],"segments":[{}]}],"extensions":{"x":1},"subnets":null}`))
	if err != nil || len(topo.Networks) != 1 || topo.Networks[0].ID != "n" {
		t.Fatalf("%+v %v", topo, err)
	}
}

func TestLoadKeepsNullGateway(t *testing.T) {
	topo, err := Load(strings.NewReader(`{"subnets":[{"id":"a","gateway_ip":null},{"id":"b"},{"id":"c","gateway_ip":"10.0.0.1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := topo.Subnets; !s[0].NoGateway || s[1].NoGateway || s[2].GatewayIP != addr("10.0.0.1") {
		t.Fatalf("%+v", s)
	}
}

func TestLoadFileAndReadErrors(t *testing.T) {
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"ports":[{"mac_address":"x"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(bad); !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), bad+": ports[0].mac_address") {
		t.Errorf("bad file: %v", err)
	}
	readErr := errors.New("disk on fire")
	if _, err := Load(iotest.ErrReader(readErr)); !errors.Is(err, readErr) {
		t.Errorf("read error: %v", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, f := range []string{"all-in-one.json", "two-node-vxlan.json", "dual-stack.json"} {
		topo := load(t, f)
		b, err := jsonMarshal(topo)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Load(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("%s after a round trip: %v", f, err)
		}
		b2, _ := jsonMarshal(again)
		if string(b) != string(b2) {
			t.Errorf("%s: marshal is not stable", f)
		}
	}
}
