package neutrino

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzLoadValidate feeds arbitrary documents to Load, Validate, Defaults and
// ForHost: none may panic, every error is non-empty and wraps a sentinel, a
// valid document survives a JSON round trip, and slicing a valid
// document's slice again changes nothing.
func FuzzLoadValidate(f *testing.F) {
	files, _ := filepath.Glob("examples/topologies/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, doc := range []string{
		``, `null`, `[]`, `{"networks":[{"id":"n"}]}`, `{"subnets":[{"cidr":"10.0.0.5/24","gateway_ip":null}]}`,
		`{"ports":[{"id":"p","network_id":"n","mac_address":"fa:16:3e:00:00:01","fixed_ips":[{"subnet_id":"s","ip_address":"10.0.0.300"}]}]}`,
		`{"security_groups":[{"id":"g","security_group_rules":[{"id":"r","direction":"ingress","ethertype":"IPv4","protocol":1,"port_range_max":3,"remote_group_id":"g"}]}]}`,
		`{"routers":[{"id":"r","external_gateway_info":{"network_id":"x"}}],"ports":[{"id":"p","device_owner":"network:router_gateway","device_id":"r","binding:host_id":"h"}]}`,
		`{"floatingips":[{"id":"f","floating_ip_address":"203.0.113.5","floating_network_id":"n","port_id":"p"}],"networks":[{"id":"n","router:external":true}]}`,
		`{"hosts":[{"name":"h","bgp_speakers":["s"]}],"bgp_speakers":[{"id":"s","local_as":1,"ip_version":4,"networks":["n"],"peers":["p"]}],"bgp_peers":[{"id":"p","peer_ip":"::1","remote_as":2}]}`,
		`{"subnetpools":[{"id":"p","prefixes":["10.0.0.0/8"],"address_scope_id":"a"}],"address_scopes":[{"id":"a","ip_version":6}]}`,
		// Real API shapes and refused fields.
		`{"bgp_speakers":[{"id":"s","local_as":"64512","ip_version":4}],"bgp_peers":[{"id":"p","peer_ip":"198.51.100.1","remote_as":"64513","auth_type":"md5"},{"id":"q","remote_as":"x1"}]}`,
		`{"routers":[{"id":"r","ha":true,"distributed":false,"conntrack_helpers":[{"protocol":"tcp","port":21,"helper":"ftp"}]}],"floatingips":[{"id":"f","floating_ip_address":"203.0.113.5","floating_network_id":"n","router_id":"r","port_id":null,"port_forwardings":[]}]}`,
		`{"networks":[{"id":"n","qos_policy_id":null,"segments":[{"provider:network_type":"vxlan","provider:segmentation_id":"7"},{"provider:network_type":"flat"}]}],"trunks":[{"id":"t"}],"qos_policies":[1],"port_forwardings":[]}`,
		`{"ports":[{"id":"p","network_id":"n","mac_address":"fa:16:3e:00:00:01","binding:vnic_type":"direct","qos_policy_id":"q","device_owner":"network:router_ha_interface","trunk_details":{"trunk_id":"t","sub_ports":[{"port_id":"s","segmentation_type":"vlan","segmentation_id":100}]}}]}`,
		`{"security_groups":[{"id":"g"}],"security_group_rules":[{"id":"r","security_group_id":"g","direction":"ingress","ethertype":"IPv4","remote_ip_prefix":"10.0.0.5/24"},{"id":"r","security_group_id":"x","direction":"egress","ethertype":"IPv6"}]}`,
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		topo, err := Load(bytes.NewReader(doc))
		if err != nil {
			checkFuzzError(t, err)
			return
		}
		err = topo.Validate()
		valid := err == nil
		if !valid {
			checkFuzzError(t, err)
		}
		for _, h := range fuzzHosts(topo) {
			s, err := topo.ForHost(h)
			if err != nil {
				checkFuzzError(t, err)
				continue
			}
			if !valid {
				continue
			}
			again, err := s.ForHost(h)
			if err != nil || !reflect.DeepEqual(s, again) {
				t.Fatalf("ForHost(%q) of its own slice differs (%v)", h, err)
			}
		}
		if valid {
			b, err := json.Marshal(topo)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Load(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("a valid document does not load back: %v\n%s", err, b)
			}
			if err := back.Validate(); err != nil {
				t.Fatalf("a valid document is invalid after a round trip: %v\n%s", err, b)
			}
		}
		topo.Defaults()
		if err := topo.Validate(); err != nil {
			checkFuzzError(t, err)
		}
	})
}

// fuzzHosts names a few hosts worth slicing for: the listed ones, the
// bound ones, and one nobody knows.
func fuzzHosts(t *Topology) []string {
	out := []string{"", "unknown-host"}
	for _, h := range t.Hosts {
		out = append(out, h.Name)
	}
	for _, p := range t.Ports {
		out = append(out, p.HostID)
	}
	if len(out) > 8 {
		out = out[:8]
	}
	return out
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	if err.Error() == "" {
		t.Fatal("empty error")
	}
	if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrUnsupported) {
		t.Fatalf("%v wraps no sentinel", err)
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if e == nil || e.Error() == "" {
				t.Fatalf("empty error in %v", err)
			}
		}
	}
}
