package port

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/errdefs"
)

func validPort() Port {
	return Port{
		ID: "p1", NetworkID: "n1", MACAddress: MustParseMAC("fa:16:3e:00:00:01"),
		FixedIPs:            []FixedIP{{SubnetID: "s1", IPAddress: netip.MustParseAddr("10.0.1.5")}},
		DeviceOwner:         "compute:nova",
		SecurityGroups:      []string{"sg1"},
		AllowedAddressPairs: []AddressPair{{IPAddress: netip.MustParsePrefix("10.0.1.100/32")}},
		Profile:             Profile{NetNS: "/run/netns/vm1", IfName: "eth0", ConfigureIPs: true},
		ExtraDHCPOpts:       []ExtraDHCPOpt{{OptName: "mtu", OptValue: "1400", IPVersion: 4}},
		DNSName:             "vm1",
	}
}

func TestValidateAcceptsPorts(t *testing.T) {
	off := false
	for name, mutate := range map[string]func(*Port){
		"as is":           func(*Port) {},
		"tap port":        func(p *Port) { p.Profile = Profile{} },
		"bare netns name": func(p *Port) { p.Profile.NetNS = "vm1" },
		"no security":     func(p *Port) { p.PortSecurityEnabled, p.SecurityGroups, p.AllowedAddressPairs = &off, nil, nil },
		"router port":     func(p *Port) { p.DeviceOwner, p.DeviceID = OwnerRouterInterface, "r1" },
		"pair with mac":   func(p *Port) { p.AllowedAddressPairs[0].MACAddress = MustParseMAC("fa:16:3e:00:00:99") },
	} {
		p := validPort()
		mutate(&p)
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	off := false
	for _, tc := range []struct {
		name   string
		mutate func(*Port)
		kind   error
		path   string
	}{
		{"no id", func(p *Port) { p.ID = "" }, errdefs.ErrInvalid, "id: required"},
		{"no network", func(p *Port) { p.NetworkID = "" }, errdefs.ErrInvalid, "network_id: required"},
		{"no mac", func(p *Port) { p.MACAddress = nil }, errdefs.ErrInvalid, "mac_address: required"},
		{"multicast mac", func(p *Port) { p.MACAddress = MustParseMAC("01:00:5e:00:00:01") }, errdefs.ErrInvalid, "mac_address: 01:00:5e:00:00:01 is a multicast"},
		{"zero mac", func(p *Port) { p.MACAddress = MustParseMAC("00:00:00:00:00:00") }, errdefs.ErrInvalid, "mac_address: 00:00:00:00:00:00 is the all-zero"},
		{"short mac", func(p *Port) { p.MACAddress = MAC{1, 2} }, errdefs.ErrInvalid, "is not a 48-bit"},
		{"fixed ip without subnet", func(p *Port) { p.FixedIPs[0].SubnetID = "" }, errdefs.ErrInvalid, "fixed_ips[0].subnet_id: required"},
		{"fixed ip without address", func(p *Port) { p.FixedIPs[0].IPAddress = netip.Addr{} }, errdefs.ErrInvalid, "fixed_ips[0].ip_address: an IP address is required"},
		{"fixed ip twice", func(p *Port) { p.FixedIPs = append(p.FixedIPs, p.FixedIPs[0]) }, errdefs.ErrConflict, "fixed_ips[1].ip_address: 10.0.1.5 repeats fixed_ips[0]"},
		{"router port without router", func(p *Port) { p.DeviceOwner = OwnerRouterGateway }, errdefs.ErrInvalid, "device_id: required for a network:router_gateway port"},
		{"empty group", func(p *Port) { p.SecurityGroups = []string{""} }, errdefs.ErrInvalid, "security_groups[0]: empty ID"},
		{"group twice", func(p *Port) { p.SecurityGroups = []string{"a", "a"} }, errdefs.ErrConflict, "security_groups[1]: a repeats"},
		{"security off with groups", func(p *Port) { p.PortSecurityEnabled, p.AllowedAddressPairs = &off, nil }, errdefs.ErrInvalid, "port_security_enabled: false, but the port has security groups"},
		{"security off with pairs", func(p *Port) { p.PortSecurityEnabled, p.SecurityGroups = &off, nil }, errdefs.ErrInvalid, "port_security_enabled: false, but the port has allowed address pairs"},
		{"pair host bits", func(p *Port) { p.AllowedAddressPairs[0].IPAddress = netip.MustParsePrefix("10.0.1.7/24") }, errdefs.ErrInvalid, "allowed_address_pairs[0].ip_address: 10.0.1.7/24 has host bits"},
		{"pair multicast mac", func(p *Port) { p.AllowedAddressPairs[0].MACAddress = MustParseMAC("33:33:00:00:00:01") }, errdefs.ErrInvalid, "allowed_address_pairs[0].mac_address:"},
		{"pair twice", func(p *Port) { p.AllowedAddressPairs = append(p.AllowedAddressPairs, p.AllowedAddressPairs[0]) }, errdefs.ErrConflict, "allowed_address_pairs[1]: repeats"},
		{"too many pairs", func(p *Port) {
			for i := range 10 {
				p.AllowedAddressPairs = append(p.AllowedAddressPairs, AddressPair{IPAddress: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, 0, byte(i)}), 32)})
			}
		}, errdefs.ErrInvalid, "allowed_address_pairs: 11 pairs exceed"},
		{"ifname without netns", func(p *Port) { p.Profile.NetNS = "" }, errdefs.ErrInvalid, "binding:profile.ifname: needs netns"},
		{"configure_ips without netns", func(p *Port) { p.Profile = Profile{ConfigureIPs: true} }, errdefs.ErrInvalid, "binding:profile.configure_ips: needs netns"},
		{"relative netns path", func(p *Port) { p.Profile.NetNS = "run/netns/x" }, errdefs.ErrInvalid, "binding:profile.netns:"},
		{"dotdot netns", func(p *Port) { p.Profile.NetNS = ".." }, errdefs.ErrInvalid, "binding:profile.netns:"},
		{"long ifname", func(p *Port) { p.Profile.IfName = "eth0123456789012" }, errdefs.ErrInvalid, "binding:profile.ifname:"},
		{"ifname with slash", func(p *Port) { p.Profile.IfName = "a/b" }, errdefs.ErrInvalid, "binding:profile.ifname:"},
		{"dhcp opt without name", func(p *Port) { p.ExtraDHCPOpts[0].OptName = " " }, errdefs.ErrInvalid, "extra_dhcp_opts[0].opt_name: required"},
		{"dhcp opt version", func(p *Port) { p.ExtraDHCPOpts[0].IPVersion = 5 }, errdefs.ErrInvalid, "extra_dhcp_opts[0].ip_version: 5"},
		{"dhcp opt twice", func(p *Port) { p.ExtraDHCPOpts = append(p.ExtraDHCPOpts, p.ExtraDHCPOpts[0]) }, errdefs.ErrConflict, "extra_dhcp_opts[1]: option mtu repeats"},
		{"dns name", func(p *Port) { p.DNSName = "vm1.example" }, errdefs.ErrInvalid, "dns_name:"},
	} {
		p := validPort()
		tc.mutate(&p)
		err := p.Validate()
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: got %v, want %v at %q", tc.name, err, tc.kind, tc.path)
		}
	}
}

func FuzzPortValidate(f *testing.F) {
	f.Add(`{"id":"p","network_id":"n","mac_address":"fa:16:3e:00:00:01","fixed_ips":[{"subnet_id":"s","ip_address":"10.0.0.5"}],"allowed_address_pairs":[{"ip_address":"10.0.0.0/24"}]}`)
	f.Add(`{"id":"p","network_id":"n","mac_address":"01:00:5e:00:00:01","binding:profile":{"netns":"x","ifname":"eth0/1"},"port_security_enabled":false,"security_groups":["a"]}`)
	f.Add(`{"id":"p","network_id":"n","mac_address":"fa:16:3e:00:00:01","binding:vnic_type":"normal","qos_policy_id":null,"trunk_details":{"trunk_id":"t","sub_ports":[]}}`)
	f.Add(`{"id":"p","network_id":"n","mac_address":"fa:16:3e:00:00:01","binding:vnic_type":"direct","device_owner":"network:router_centralized_snat","trunk_details":{"sub_ports":[{"port_id":"s","segmentation_id":5}]}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var p Port
		if json.Unmarshal([]byte(doc), &p) != nil {
			return
		}
		if err := p.Validate(); err != nil && err.Error() == "" {
			t.Fatal("empty error")
		} else if err == nil && (len(p.MACAddress) != 6 || p.MACAddress[0]&1 != 0) {
			t.Fatalf("accepted MAC %v", p.MACAddress)
		}
	})
}
